-- Rolling-origin backtest accuracy, per series and overall, for the model and the
-- seasonal-naive baseline:
--   WAPE = sum|actual - forecast| / sum actual
--   MAPE = mean(|actual - forecast| / actual)      (actual > 0)
--   bias = sum(forecast - actual) / sum actual     (positive: over-forecast)
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
        count(*) as n_points,
        sum(abs(actual_units - forecast_units)) / sum(actual_units) as wape,
        avg(abs(actual_units - forecast_units) / actual_units) filter (where actual_units > 0) as mape,
        sum(forecast_units - actual_units) / sum(actual_units) as bias
    from points
    group by sku, region, method

),

overall as (

    select
        'overall' as level,
        null as sku,
        null as region,
        method,
        count(*) as n_points,
        sum(abs(actual_units - forecast_units)) / sum(actual_units) as wape,
        avg(abs(actual_units - forecast_units) / actual_units) filter (where actual_units > 0) as mape,
        sum(forecast_units - actual_units) / sum(actual_units) as bias
    from points
    group by method

)

select * from per_series
union all
select * from overall
