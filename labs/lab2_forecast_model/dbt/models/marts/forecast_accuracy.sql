-- Accuracy on the final backtest window, which the model selection never saw: one row per (level,
-- series or status, method). method = 'model' is what the lab ships (each series' chosen model);
-- every candidate has its own row, seasonal_naive is the baseline. Rows that pool series compare
-- methods on the same series: level = 'status' pools the series of one status (every candidate of a
-- status forecasts all of its series), level = 'overall' pools every backtested series and so holds
-- only the methods that forecast all of them (model, seasonal_naive, ensemble where every status has
-- one). wape_vs_naive = wape / seasonal naive's wape on the same series (below 1 = better).
-- Metrics (macro accuracy_metrics) use only points where both the forecast and the actual exist.
{% set season = var('forecast_season_length', 52) | int %}
{% set horizon = var('forecast_horizon', 12) | int %}
{% set origins = var('forecast_origins', 4) | int %}
{% set frequency = var('forecast_frequency', 'weekly') %}

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
        final_window.sku, final_window.region, selection.status, final_window.method, null as chosen_method,
        final_window.actual_units, final_window.forecast_units,
        final_window.lower_80, final_window.upper_80, final_window.lower_95, final_window.upper_95
    from final_window
    inner join selection
        on selection.sku = final_window.sku
        and selection.region = final_window.region

    union all

    select
        final_window.sku, final_window.region, selection.status, 'model' as method, selection.chosen_method,
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
        any_value(status) as status,
        method,
        any_value(chosen_method) as chosen_method,
        1 as n_series,
        {{ accuracy_metrics() }}
    from scaled
    group by sku, region, method

),

per_status as (

    select
        'status' as level,
        null as sku,
        null as region,
        status,
        method,
        null as chosen_method,
        count(distinct sku || '|' || region) as n_series,
        {{ accuracy_metrics() }}
    from scaled
    group by status, method

),

backtested as (

    select count(distinct sku || '|' || region) as n_series from scaled

),

overall as (

    select
        'overall' as level,
        null as sku,
        null as region,
        null as status,
        method,
        null as chosen_method,
        count(distinct sku || '|' || region) as n_series,
        {{ accuracy_metrics() }}
    from scaled
    group by method
    -- only methods that forecast every backtested series: the others are compared per status
    having count(distinct sku || '|' || region) = (select n_series from backtested)

),

unioned as (

    select * from per_series
    union all
    select * from per_status
    union all
    select * from overall

),

final as (

    select
        unioned.level,
        unioned.sku,
        unioned.region,
        unioned.status,
        unioned.method,
        unioned.chosen_method,
        '{{ frequency }}' as frequency,
        unioned.n_series,
        unioned.n_points,
        unioned.wape,
        unioned.wape / nullif(naive.wape, 0) as wape_vs_naive,
        unioned.mase,
        unioned.bias,
        unioned.coverage_80,
        unioned.coverage_95
    from unioned
    left join unioned as naive
        on naive.method = 'seasonal_naive'
        and naive.level = unioned.level
        and naive.sku is not distinct from unioned.sku
        and naive.region is not distinct from unioned.region
        and naive.status is not distinct from unioned.status

)

select * from final
