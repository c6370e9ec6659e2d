{#
    Net revenue of a sales line as the business defines it:
    round(units * unit_price * (1 - discount_pct), 2), a missing discount counting as 0.
#}
{% macro expected_revenue(units, unit_price, discount_pct) -%}
    round({{ units }} * {{ unit_price }} * (1 - coalesce({{ discount_pct }}, 0)), 2)
{%- endmacro %}
