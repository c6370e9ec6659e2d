{#
    Pre-hook of int_sales_lines_checked on an incremental build: stages in the temporary table
    temp.main.lab1_recheck_transactions the transaction ids whose copies must be ranked again:
    every id in a file loaded since the last build (its new and its old version), and every id of a
    file a re-send left empty. A stores.csv or products.csv loaded since then re-checks every file.

    A real (temporary) table, not a CTE: DuckDB then knows how few ids there are and builds the
    hash of the model's joins on them. With a CTE it built them on every line of the history
    (hundreds of MB for a year of sales; docs/incremental.md#memory). The model's post-hook drops it.
#}
{% macro lab1_stage_recheck_transactions() %}
create or replace temp table lab1_recheck_transactions as

with

watermark as (

    -- the time of the last build that re-checked anything (_loaded_at and _checked_at are both
    -- the runner's one DuckDB connection's current_timestamp in UTC, so they compare)
    select coalesce(max(_checked_at), timestamp '1900-01-01') as loaded_at from {{ this }}

),

masters_changed as (

    -- region and category come from the masters: a new stores.csv or products.csv re-checks all
    select count(*) > 0 as changed
    from (
        select _loaded_at from {{ source('raw', 'stores') }}
        union all
        select _loaded_at from {{ source('raw', 'products') }}
    ) as masters
    where _loaded_at > (select loaded_at from watermark)

),

changed_files as (

    select distinct _source_file
    from {{ ref('stg_sales') }}
    where _loaded_at > (select loaded_at from watermark)
        or (select changed from masters_changed)

    union

    -- files a re-send left empty: their old rows' transaction ids must be re-ranked too
    select distinct _source_file
    from {{ this }}
    where _source_file not in (select distinct _source_file from {{ ref('stg_sales') }})

)

select transaction_id from {{ ref('stg_sales') }}
where _source_file in (select _source_file from changed_files)

union

select transaction_id from {{ this }}
where _source_file in (select _source_file from changed_files)
{% endmacro %}
