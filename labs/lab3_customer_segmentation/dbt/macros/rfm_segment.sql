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

    Absolute limit: a customer who has not bought for more than var('segments_active_within_days')
    (lab.yaml segments.active_within_days) counts as long lapsed (r = 1) whatever the quintile says:
    on a panel where nobody bought for years the "most recent" fifth can be years gone, and calling
    them champions would mislead. They fall to at_risk (f >= 3) or hibernating.

    r is NULL when recency was not scored (int_recency_check): nearly every customer bought within
    one usual gap between purchases, so every customer counts as recent (r = 5).
#}
{% macro rfm_segment(r, f, m, tenure_days, recency_days) -%}
    {%- set r_used -%}
        case when {{ recency_days }} > {{ var('segments_active_within_days', 365) }} then 1 else coalesce({{ r }}, 5) end
    {%- endset -%}
    case
        when {{ tenure_days }} <= {{ var('new_customer_days') }} then 'new_customers'
        when {{ r_used }} >= 4 and {{ f }} = 5 then 'champions'
        when {{ r_used }} >= 3 and ({{ f }} >= 4 or {{ m }} >= 4) then 'loyal_customers'
        when {{ r_used }} <= 2 and {{ f }} >= 3 then 'at_risk'
        when {{ r_used }} = 1 then 'hibernating'
        else 'occasional'
    end
{%- endmacro %}
