-- A view over int_sales_lines_checked (incremental), so it never holds a stale copy of a line
-- (docs/incremental.md).

{{ config(materialized='view') }}

with

checked as (

    select * from {{ ref('int_sales_lines_checked') }}

),

clean as (

    select * from checked
    where exclusion_reason is null

),

final as (

    select

        ----------  ids
        transaction_id,
        store_id,
        sku,
        promo_id,

        ----------  dates
        sale_date,
        date_trunc('week', sale_date)::date as week_start,

        ----------  attributes
        region,
        category,

        ----------  numerics
        units,
        unit_price,
        discount_pct,
        units * unit_price as gross_revenue,
        revenue,
        units * unit_price - revenue as discount_amount,

        ----------  lineage
        _source_file,
        _loaded_at,
        _checked_at

    from clean

)

select * from final
