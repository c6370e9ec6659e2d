{#
    Incremental models keyed by the raw file their rows came from (docs/incremental.md):
    materialized='incremental', incremental_strategy='delete+insert', unique_key='_source_file'.
    A build reads again only the rows newer than the table's newest (`newer_than_this`), replaces
    the rows of their files, and a post-hook deletes the rows of files that left the upstream
    (a file re-sent empty: `delete_rows_of_files_gone`). Used by lab 1 (int_sales_lines_checked,
    int_sales_daily) and lab 3 (int_customer_file_totals).
#}

{% macro newer_than_this(column) -%}
    {#- a filter for a model's incremental branch: rows whose column is newer than this table's newest -#}
    {{ column }} > (select coalesce(max({{ column }}), timestamp '1900-01-01') from {{ this }})
{%- endmacro %}

{% macro delete_rows_of_files_gone(upstream) -%}
    {#- post-hook: delete the rows of every file the upstream no longer has (nothing on a full build) -#}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where _source_file not in (select distinct _source_file from {{ upstream }})
    {%- endif -%}
{%- endmacro %}
