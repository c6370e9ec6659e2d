-- A view over int_sales_lines_checked (incremental), so it never holds a stale copy of a line
-- (docs/incremental.md).

{{ config(materialized='view') }}

with

checked as (

    select * from {{ ref('int_sales_lines_checked') }}

),

excluded as (

    select * from checked
    where exclusion_reason is not null

),

final as (

    select

        ----------  ids
        transaction_id || '#' || copy_rank as exception_id,
        transaction_id,
        copy_rank,

        ----------  verdict
        exclusion_reason as reason,

        ----------  the line as loaded
        sale_date,
        store_id,
        sku,
        promo_id,
        units,
        unit_price,
        discount_pct,
        revenue,
        expected_revenue,

        ----------  lineage
        _source_file,
        _loaded_at,
        _checked_at

    from excluded

)

select * from final
