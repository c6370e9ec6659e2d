-- Gold: one row per RFM segment: size, share, typical recency / frequency / spend, revenue share.
with

customers as (

    select * from {{ ref('customer_segments') }}

),

totals as (

    select count(*) as customers, sum(monetary) as revenue from customers

)

select
    segment,
    count(*) as customers,
    round(count(*) / any_value(totals.customers), 4) as share_of_customers,
    round(avg(recency_days), 1) as avg_recency_days,
    round(avg(frequency), 2) as avg_frequency,
    round(avg(monetary), 2) as avg_monetary,
    sum(monetary) as revenue,
    round(sum(monetary) / any_value(totals.revenue), 4) as share_of_revenue
from customers cross join totals
group by segment
