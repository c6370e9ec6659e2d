-- Every sales line summed per source file, day, store, SKU, promotion and verdict: the table the
-- daily grids, the weekly and all-time gold models and the promotion lift read instead of the
-- line-level silver table (docs/incremental.md#the-daily-summary).
--
-- Incremental like int_sales_lines_checked (delete+insert keyed by _source_file): a build
-- re-sums only the files int_sales_lines_checked re-checked since this table last summed
-- (their _checked_at is newer than this table's newest). Every line of a file is summed,
-- excluded lines too (exclusion_reason in the grain), so a re-checked file always replaces all
-- its rows, even when none of its lines is clean any more; the rows of a file that left
-- int_sales_lines_checked (re-sent empty) are deleted by the post-hook. Sums of DECIMAL columns
-- are exact, so summing these rows again gives exactly the totals of the lines.

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='_source_file',
    on_schema_change='fail',
    post_hook="{{ buildcpg.delete_rows_of_files_gone(ref('int_sales_lines_checked')) }}",
) }}

with

lines as (

    select * from {{ ref('int_sales_lines_checked') }}

    {% if is_incremental() %}
    where {{ buildcpg.newer_than_this('_checked_at') }}
    {% endif %}

),

summed as (

    select

        ----------  grain
        _source_file,
        sale_date,
        store_id,
        sku,
        promo_id,
        exclusion_reason,

        ----------  attributes
        date_trunc('week', sale_date)::date as week_start,
        region,
        category,

        ----------  measures
        count(*) as sales_lines,
        sum(units) as units,
        sum(units * unit_price) as gross_revenue,
        sum(revenue) as revenue,

        ----------  lineage
        max(_checked_at) as _checked_at

    from lines
    group by _source_file, sale_date, store_id, sku, promo_id, exclusion_reason, region, category

)

select * from summed
