-- Silver: orders with a positive amount (the business rule of the example).
select
    order_id,
    order_date,
    customer_id,
    amount
from {{ ref('stg_orders') }}
where amount > 0
