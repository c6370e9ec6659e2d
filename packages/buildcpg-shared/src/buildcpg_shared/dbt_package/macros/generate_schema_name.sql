{#
    Use a model's custom schema verbatim (bronze / silver / gold) instead of dbt's default
    "<target schema>_<custom schema>"; models without one land in the target schema.
    dbt's own generate_schema_name dispatches here through the lab's `dispatch:` config
    (dbt_project.yml: macro_namespace dbt, search_order [<lab>, buildcpg, dbt]).
#}
{% macro default__generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
