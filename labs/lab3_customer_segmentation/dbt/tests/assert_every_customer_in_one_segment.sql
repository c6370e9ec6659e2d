-- Every customer with a purchase is in customer_segments, and the segment sizes add up.
select 'missing' as problem, count(*) as n
from {{ ref('stg_transactions') }} t
where t.customer_id not in (select customer_id from {{ ref('customer_segments') }})
having count(*) > 0
union all
select 'sizes', abs((select sum(customers) from {{ ref('segment_summary') }})
    - (select count(*) from {{ ref('customer_segments') }}))
having abs((select sum(customers) from {{ ref('segment_summary') }})
    - (select count(*) from {{ ref('customer_segments') }})) > 0
