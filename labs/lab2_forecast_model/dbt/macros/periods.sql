{#
    The lab's period arithmetic, driven by lab.yaml's forecast.frequency (dbt var forecast_frequency):
      period_part()         the date part of one period: day | week | month | quarter
      period_interval(n)    n periods as an interval (7 days a week, 3 months a quarter)
      period_start(column)  the start of the period a date falls in (Monday, 1st of month/quarter)
      period_end(column)    the last day of the period that starts on column
#}
{% macro period_part() -%}
    {%- set parts = {'daily': 'day', 'weekly': 'week', 'monthly': 'month', 'quarterly': 'quarter'} -%}
    {%- set frequency = var('forecast_frequency', 'weekly') -%}
    {%- if frequency not in parts -%}
        {{ exceptions.raise_compiler_error("forecast_frequency must be daily, weekly, monthly or quarterly, not " ~ frequency) }}
    {%- endif -%}
    {{ parts[frequency] }}
{%- endmacro %}

{% macro period_interval(n=1) -%}
    {%- set part = period_part() -%}
    {%- if part == 'week' -%} to_days(7 * ({{ n }}))
    {%- elif part == 'quarter' -%} to_months(3 * ({{ n }}))
    {%- elif part == 'month' -%} to_months({{ n }})
    {%- else -%} to_days({{ n }})
    {%- endif -%}
{%- endmacro %}

{% macro period_start(column) -%}
    cast(date_trunc('{{ period_part() }}', {{ column }}) as date)
{%- endmacro %}

{% macro period_end(column) -%}
    cast({{ column }} + {{ period_interval(1) }} - to_days(1) as date)
{%- endmacro %}
