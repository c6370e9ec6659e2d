-- The clean part of the daily summary (exclusion_reason is null): what int_sales holds, summed per
-- file, day, store, SKU and promotion. A view over int_sales_daily (incremental), so it is never
-- stale; the daily-units grids and the marts read it instead of every clean line.

{{ config(materialized='view') }}

with

daily as (

    select * from {{ ref('int_sales_daily') }}

)

select * exclude (exclusion_reason)
from daily
where exclusion_reason is null
