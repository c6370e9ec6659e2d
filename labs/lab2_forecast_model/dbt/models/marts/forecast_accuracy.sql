-- Rolling-origin backtest accuracy, per series and overall, for the model and the
-- seasonal-naive baseline (WAPE, MAPE, bias: macro accuracy_metrics; positive bias = over-forecast).
with

backtest as (

    select * from {{ ref('int_forecasts') }}
    where kind = 'backtest'

),

points as (

    select sku, region, 'model' as method, actual_units, model_units as forecast_units from backtest
    union all
    select sku, region, 'seasonal_naive' as method, actual_units, naive_units as forecast_units from backtest

),

per_series as (

    select
        'series' as level,
        sku,
        region,
        method,
        {{ accuracy_metrics('actual_units', 'forecast_units') }}
    from points
    group by sku, region, method

),

overall as (

    select
        'overall' as level,
        null as sku,
        null as region,
        method,
        {{ accuracy_metrics('actual_units', 'forecast_units') }}
    from points
    group by method

)

select * from per_series
union all
select * from overall
