-- int_weekly_demand holds exactly one row per SKU × region × week.
select sku, region, week_start, count(*) as n
from {{ ref('int_weekly_demand') }}
group by all
having count(*) > 1
