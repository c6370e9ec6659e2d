-- One row per customer who bought at least once: first and last purchase, frequency (purchases),
-- monetary (total spend), and the days since the last purchase (recency) and since the first
-- (tenure), as of the day after the last transaction in the data. Added up from the per-file
-- totals (int_customer_file_totals, incremental), not from every transaction.
with

file_totals as (

    select * from {{ ref('int_customer_file_totals') }}

),

as_of as (

    select max(last_purchase) + 1 as as_of_date from file_totals

),

per_customer as (

    select
        customer_id,
        min(first_purchase) as first_purchase,
        max(last_purchase) as last_purchase,
        sum(purchases)::bigint as frequency,
        sum(spend) as monetary
    from file_totals
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
