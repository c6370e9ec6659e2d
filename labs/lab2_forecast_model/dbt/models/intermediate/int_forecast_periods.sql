-- The periods ahead: one row per series and step 1..horizon, with the period's start date and the
-- plan's flags (a planned promotion overlapping the period, a holiday in it) and the planned
-- promotions' discount depth (macro promo_depth), the promotion candidate's regressor ahead.
{% set horizon = var('forecast_horizon', 12) | int %}

with

series as (

    select * from {{ ref('int_demand_series') }}

),

data_bounds as (

    select min(period_start) as first_period, max(period_index) as last_index from series

),

steps as (

    select
        profile.sku,
        profile.region,
        step,
        data_bounds.last_index as cutoff_index,
        data_bounds.last_index + step as period_index,
        cast(data_bounds.first_period + {{ period_interval('data_bounds.last_index') }} as date) as forecast_origin,
        cast(data_bounds.first_period + {{ period_interval('data_bounds.last_index + step') }} as date) as period_start
    from {{ ref('int_series_profile') }} as profile
    cross join data_bounds
    cross join range(1, {{ horizon + 1 }}) as horizon_steps(step)

),

final as (

    select
        steps.sku,
        steps.region,
        steps.step,
        steps.cutoff_index,
        steps.period_index,
        steps.forecast_origin,
        steps.period_start,
        bool_or(promotions.promo_id is not null) as on_promo,
        bool_or(holidays.holiday_date is not null) as is_holiday
    from steps
    left join {{ ref('stg_promotions') }} as promotions
        on promotions.sku = steps.sku
        and promotions.region = steps.region
        and promotions.start_date <= {{ period_end('steps.period_start') }}
        and promotions.end_date >= steps.period_start
    left join {{ ref('stg_holidays') }} as holidays
        on holidays.holiday_date between steps.period_start and {{ period_end('steps.period_start') }}
    group by all

),

depth as (

    {{ promo_depth('steps') }}

),

with_depth as (

    select final.*, coalesce(depth.promo_depth, 0) as promo_depth
    from final
    left join depth
        on depth.sku = final.sku
        and depth.region = final.region
        and depth.period_start = final.period_start

)

select * from with_depth
