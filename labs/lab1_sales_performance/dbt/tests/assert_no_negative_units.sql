-- No clean line sells zero or negative units, and no gold table reports negative units.

with

offenders as (

    select 'int_sales' as model, transaction_id as row_key, units
    from {{ ref('int_sales') }}
    where {{ var('lab1_lines_checked_in_last_build') }}  -- the lines the last build re-checked
        and units <= 0

    union all

    select 'sales_by_region_category_week', region || '|' || category || '|' || week_start, units
    from {{ ref('sales_by_region_category_week') }}
    where units < 0

    union all

    select 'sku_performance', sku, units
    from {{ ref('sku_performance') }}
    where units < 0

)

select * from offenders
