{#
    Business name of an RFM cell, from the recency score r and the frequency score f (1-5, 5 best).
    The grid is the usual R × F map; the first matching rule wins.
#}
{% macro rfm_segment(r, f) -%}
    case
        when {{ r }} >= 4 and {{ f }} >= 4 then 'champions'
        when {{ r }} = 3 and {{ f }} >= 4 then 'loyal_customers'
        when {{ r }} >= 4 and {{ f }} >= 2 then 'potential_loyalists'
        when {{ r }} >= 4 then 'new_customers'
        when {{ r }} = 3 then 'needs_attention'
        when {{ f }} = 5 then 'cannot_lose_them'
        when {{ f }} >= 3 then 'at_risk'
        else 'hibernating'
    end
{%- endmacro %}
