-- RFM per customer who bought at least once, as of the day after the last transaction.
-- Scores are quintiles (ntile 5, ties broken by customer_id): 5 = most recent / most frequent /
-- highest spend.
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
        max(txn_date) as last_purchase,
        count(*) as frequency,
        sum(amount) as monetary
    from transactions
    group by customer_id

),

measured as (

    select
        per_customer.*,
        as_of.as_of_date,
        as_of.as_of_date - per_customer.last_purchase as recency_days
    from per_customer cross join as_of

),

scored as (

    select
        *,
        ntile(5) over (order by recency_days desc, customer_id) as r_score,
        ntile(5) over (order by frequency, customer_id) as f_score,
        ntile(5) over (order by monetary, customer_id) as m_score
    from measured

)

select
    scored.*,
    r_score::varchar || f_score::varchar || m_score::varchar as rfm_cell,
    {{ rfm_segment('r_score', 'f_score') }} as segment
from scored
