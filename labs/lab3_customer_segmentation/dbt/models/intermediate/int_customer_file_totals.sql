-- Every customer's purchases summed per source file: first and last purchase, count and spend.
-- int_customer_measures adds these rows up per customer instead of reading every transaction
-- (docs/incremental.md#lab-3-customer-totals-per-file).
--
-- Incremental (delete+insert keyed by _source_file): a build sums only the files loaded since the
-- last one (their _loaded_at is newer than this table's newest), so a new year of transactions
-- touches only its own rows, and a re-sent file replaces all of its rows. The rows of a file
-- re-sent empty are deleted by the post-hook; a file removed from data/raw keeps its rows, as raw
-- keeps them (docs/lab-runner.md). min, max, count and exact DECIMAL sums add up per customer to
-- exactly the totals over the transactions. `--full-refresh` sums every file again.

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='_source_file',
    on_schema_change='fail',
    post_hook="{{ buildcpg.delete_rows_of_files_gone(ref('stg_transactions')) }}",
) }}

with

transactions as (

    select * from {{ ref('stg_transactions') }}

    {% if is_incremental() %}
    where {{ buildcpg.newer_than_this('_loaded_at') }}
    {% endif %}

),

summed as (

    select
        _source_file,
        customer_id,
        min(txn_date) as first_purchase,
        max(txn_date) as last_purchase,
        count(*) as purchases,
        sum(amount) as spend,
        max(_loaded_at) as _loaded_at
    from transactions
    group by _source_file, customer_id

)

select * from summed
