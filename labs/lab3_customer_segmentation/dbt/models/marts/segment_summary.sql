-- Gold: one row per segment: size, share, typical recency / frequency / spend, revenue share.
with

customers as (

    select * from {{ ref('customer_segments') }}

),

totals as (

    select count(*) as customers, sum(monetary) as revenue from customers

),

summarised as (

    select
        customers.segment,
        count(*) as customers,
        round(count(*) / any_value(totals.customers), 4) as share_of_customers,
        round(avg(customers.recency_days), 1) as avg_recency_days,
        round(avg(customers.frequency), 2) as avg_frequency,
        round(avg(customers.monetary), 2) as avg_monetary,
        sum(customers.monetary) as revenue,
        round(sum(customers.monetary) / any_value(totals.revenue), 4) as share_of_revenue
    from customers
    cross join totals
    group by customers.segment

)

select * from summarised
