-- Gold: orders and revenue per day.
select
    order_date,
    count(*) as orders,
    sum(amount) as revenue
from {{ ref('int_orders') }}
group by order_date
