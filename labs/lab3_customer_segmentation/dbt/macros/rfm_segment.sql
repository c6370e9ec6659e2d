{#
    Segment of a customer from the recency score r, frequency score f, monetary score m (1-5, 5 =
    best) and the days since the first purchase; the first matching rule wins. Each segment names
    one buying behaviour (docs/lab3-segments.md):

    new_customers    first purchase at most var('new_customer_days') days ago
    champions        bought recently (r >= 4) and among the most frequent fifth (f = 5)
    loyal_customers  not lapsed (r >= 3), frequent or big spenders (f >= 4 or m >= 4)
    at_risk          lapsed (r <= 2) after buying often (f >= 3)
    hibernating      long lapsed (r = 1), rarely bought (f <= 2)
    occasional       the rest: buy seldom, not long gone

    r is NULL when recency was not scored (int_recency_check): nearly every customer bought within
    one usual gap between purchases, so every customer counts as recent (r = 5).
#}
{% macro rfm_segment(r, f, m, tenure_days) -%}
    case
        when {{ tenure_days }} <= {{ var('new_customer_days') }} then 'new_customers'
        when coalesce({{ r }}, 5) >= 4 and {{ f }} = 5 then 'champions'
        when coalesce({{ r }}, 5) >= 3 and ({{ f }} >= 4 or {{ m }} >= 4) then 'loyal_customers'
        when coalesce({{ r }}, 5) <= 2 and {{ f }} >= 3 then 'at_risk'
        when coalesce({{ r }}, 5) = 1 then 'hibernating'
        else 'occasional'
    end
{%- endmacro %}
