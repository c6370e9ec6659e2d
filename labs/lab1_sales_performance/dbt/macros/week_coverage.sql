{#- days_covered and is_partial_week of a Monday-to-Sunday week: how many of its days lie inside the
    sales history (data_range's first_date .. last_date); the first and last weeks usually do not,
    and a 2-day last week read as a full one looks like a collapse. One definition for every weekly
    gold table. -#}
{% macro week_coverage(week_start, data_range='data_range') %}
    {%- set days -%}
        (least({{ week_start }} + 6, {{ data_range }}.last_date)
            - greatest({{ week_start }}, {{ data_range }}.first_date) + 1)
    {%- endset -%}
        {{ days }}::integer as days_covered,
        {{ days }} < 7 as is_partial_week
{%- endmacro %}
