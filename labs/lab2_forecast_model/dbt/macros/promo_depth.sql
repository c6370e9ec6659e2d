{#
    promo_depth(periods): one row per (sku, region, period_start) of the relation `periods` that a
    promotion overlaps, with promo_depth = the discount averaged over the period's days
    (Σ discount_pct × days of the promotion in the period / days in the period; overlapping
    promotions add up). A 25% promotion over a whole week gives 0.25, over 2 of its 7 days 0.0714.
    The promotion candidate's regressor (int_candidate_forecasts, docs/lab2-forecast.md).
#}
{% macro promo_depth(periods) -%}
    select
        periods.sku,
        periods.region,
        periods.period_start,
        sum(
            cast(promotions.discount_pct as double)
            * (date_diff(
                'day',
                greatest(promotions.start_date, periods.period_start),
                least(promotions.end_date, {{ period_end('periods.period_start') }})
            ) + 1)
        ) / (date_diff('day', periods.period_start, {{ period_end('periods.period_start') }}) + 1) as promo_depth
    from {{ periods }} as periods
    inner join {{ ref('stg_promotions') }} as promotions
        on promotions.sku = periods.sku
        and promotions.region = periods.region
        and promotions.start_date <= {{ period_end('periods.period_start') }}
        and promotions.end_date >= periods.period_start
    group by periods.sku, periods.region, periods.period_start
{%- endmacro %}
