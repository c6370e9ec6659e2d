-- Every staged sales line with the verdict of the cleaning rules: exclusion_reason is null for a
-- line that goes to int_sales, else the first rule it breaks (in the order of the case below).
--
-- Incremental (docs/incremental.md): a run re-checks only the files it has to, and replaces their
-- rows (delete+insert keyed by _source_file). Those are the files loaded since the last build
-- (_loaded_at newer than this table's newest _checked_at), plus every file sharing a transaction_id with them
-- (old or new version), since a new copy can change which copy survives. A changed stores.csv or
-- products.csv re-checks every file. Rows of a file that a re-send left empty are deleted by the
-- post-hook. `--full-refresh` rebuilds the whole table.
--
-- The transaction ids to re-check are staged by the pre-hook in a temporary table
-- (macros/lab1_stage_recheck_transactions.sql): with its exact row count DuckDB builds the hash
-- of the joins below on those few ids, not on every line of the history (docs/incremental.md).

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='_source_file',
    on_schema_change='fail',
    pre_hook="{% if is_incremental() %}{{ lab1_stage_recheck_transactions() }}{% endif %}",
    post_hook=[
        "{{ buildcpg.delete_rows_of_files_gone(ref('stg_sales')) }}",
        "drop table if exists temp.main.lab1_recheck_transactions",
    ],
) }}

with

all_sales as not materialized (

    -- not materialized: DuckDB would otherwise copy every staged line into memory, once, for the
    -- several reads below; each read then scans only the columns and row groups it needs
    select * from {{ ref('stg_sales') }}

),

{% if is_incremental() %}

affected_files as (

    select distinct _source_file
    from all_sales
    -- the pre-hook's table of transaction ids to re-check (macros/lab1_stage_recheck_transactions.sql)
    where transaction_id in (select transaction_id from temp.main.lab1_recheck_transactions)

),

sales as (

    -- every copy of every transaction_id found in an affected file, so that each rank is complete
    select * from all_sales
    where transaction_id in (
        select transaction_id from all_sales
        where _source_file in (select _source_file from affected_files)
    )

),

{% else %}

sales as (

    select * from all_sales

),

{% endif %}

stores as (

    select * from {{ ref('stg_stores') }}

),

products as (

    select * from {{ ref('stg_products') }}

),

ranked as (

    -- one copy per transaction_id survives: latest load, then the later file name;
    -- the remaining keys only make the order total when two copies sit in one file
    select
        *,
        row_number() over (
            partition by transaction_id
            order by
                _loaded_at desc,
                _source_file desc,
                sale_date, store_id, sku, units, unit_price, discount_pct, revenue, promo_id
        ) as copy_rank

    from sales

),

checked as (

    select

        ----------  ids
        ranked.transaction_id,
        ranked.copy_rank,
        ranked.store_id,
        ranked.sku,
        ranked.promo_id,

        ----------  dates
        ranked.sale_date,

        ----------  attributes
        stores.region,
        products.category,

        ----------  numerics
        ranked.units,
        ranked.unit_price,
        ranked.discount_pct,
        ranked.revenue,
        {{ expected_revenue('ranked.units', 'ranked.unit_price', 'ranked.discount_pct') }}
            as expected_revenue,

        ----------  verdict
        case
            when ranked.copy_rank > 1 then 'duplicate'
            when ranked.units <= 0 then 'non_positive_units'
            when stores.store_id is null then 'unknown_store'
            when products.sku is null then 'unknown_sku'
            when abs(
                ranked.revenue
                - {{ expected_revenue('ranked.units', 'ranked.unit_price', 'ranked.discount_pct') }}
            ) > 0.01 then 'revenue_mismatch'
        end as exclusion_reason,

        ----------  lineage
        ranked._source_file,
        ranked._loaded_at,
        timezone('UTC', {{ dbt.current_timestamp() }}) as _checked_at

    from ranked

    left join stores
        on ranked.store_id = stores.store_id

    left join products
        on ranked.sku = products.sku

    {% if is_incremental() %}
    -- copies in unaffected files were only needed for the ranks: their rows stay as they are
    where ranked._source_file in (select _source_file from affected_files)
    {% endif %}

)

select * from checked
