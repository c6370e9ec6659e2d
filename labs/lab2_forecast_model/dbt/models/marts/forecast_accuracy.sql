-- Accuracy on the final backtest window, which the model selection never saw, per series and
-- overall: one row per (level, series, method). method = 'model' is what the lab ships (each
-- series' chosen model); every candidate has its own row, seasonal_naive is the baseline.
-- Metrics (macro accuracy_metrics) use only points where both the forecast and the actual exist.
{% set season = var('forecast_season_length', 52) | int %}
{% set horizon = var('forecast_horizon', 12) | int %}
{% set origins = var('forecast_origins', 4) | int %}

with

final_window as (

    select * from {{ ref('int_candidate_forecasts') }}
    where kind = 'backtest' and window_index = {{ origins }}

),

selection as (

    select * from {{ ref('int_model_selection') }}

),

lagged as (

    select
        sku,
        region,
        period_index,
        abs(units - lag(units, {{ season }}) over (
            partition by sku, region order by period_index
        )) as seasonal_naive_error
    from {{ ref('int_demand_series') }}

),

mase_scale as (

    -- in-sample MAE of seasonal naive over the history before the final window
    select
        lagged.sku,
        lagged.region,
        avg(lagged.seasonal_naive_error) as mase_scale
    from lagged
    where lagged.period_index <= (select max(period_index) from lagged) - {{ horizon }}
    group by lagged.sku, lagged.region

),

points as (

    select
        sku, region, method, null as chosen_method,
        actual_units, forecast_units, lower_80, upper_80, lower_95, upper_95
    from final_window

    union all

    select
        final_window.sku, final_window.region, 'model' as method, selection.chosen_method,
        final_window.actual_units, final_window.forecast_units,
        final_window.lower_80, final_window.upper_80, final_window.lower_95, final_window.upper_95
    from final_window
    inner join selection
        on selection.sku = final_window.sku
        and selection.region = final_window.region
        and selection.chosen_method = final_window.method

),

scaled as (

    select points.*, mase_scale.mase_scale
    from points
    left join mase_scale
        on mase_scale.sku = points.sku and mase_scale.region = points.region

),

per_series as (

    select
        'series' as level,
        sku,
        region,
        method,
        any_value(chosen_method) as chosen_method,
        1 as n_series,
        {{ accuracy_metrics() }}
    from scaled
    group by sku, region, method

),

overall as (

    select
        'overall' as level,
        null as sku,
        null as region,
        method,
        null as chosen_method,
        count(distinct sku || '|' || region) as n_series,
        {{ accuracy_metrics() }}
    from scaled
    group by method

),

final as (

    select * from per_series
    union all
    select * from overall

)

select * from final
