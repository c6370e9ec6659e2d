-- One row per customer who bought at least once: first and last purchase, frequency (purchases),
-- monetary (total spend), and the days since the last purchase (recency) and since the first
-- (tenure), as of the day after the last transaction in the data.
with

transactions as (

    select * from {{ ref('stg_transactions') }}

),

as_of as (

    select max(txn_date) + 1 as as_of_date from transactions

),

per_customer as (

    select
        customer_id,
        min(txn_date) as first_purchase,
        max(txn_date) as last_purchase,
        count(*) as frequency,
        sum(amount) as monetary
    from transactions
    group by customer_id

),

measured as (

    select
        per_customer.customer_id,
        per_customer.first_purchase,
        per_customer.last_purchase,
        per_customer.frequency,
        per_customer.monetary,
        as_of.as_of_date,
        as_of.as_of_date - per_customer.last_purchase as recency_days,
        as_of.as_of_date - per_customer.first_purchase as tenure_days,
        -- mean days between purchases; NULL for a single purchase
        case
            when per_customer.frequency > 1
                then (per_customer.last_purchase - per_customer.first_purchase) / (per_customer.frequency - 1)
        end as mean_gap_days
    from per_customer
    cross join as_of

)

select * from measured
