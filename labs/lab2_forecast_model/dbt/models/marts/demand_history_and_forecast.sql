-- The observed units of every SKU × region, followed by the forecast ahead with its 80% interval
-- and the seasonal-naive value: one series per SKU × region, what the report charts (actuals next
-- to the forecast).
with

history as (

    select * from {{ ref('int_demand_series') }}

),

forecast as (

    select * from {{ ref('demand_forecast') }}

),

observed as (

    select
        sku,
        region,
        period_start,
        'actual' as kind,
        cast(units as double) as actual_units,
        cast(null as double) as forecast_units,
        cast(null as double) as lower_80,
        cast(null as double) as upper_80,
        cast(null as double) as seasonal_naive_units
    from history

),

ahead as (

    select
        sku,
        region,
        period_start,
        'forecast' as kind,
        cast(null as double) as actual_units,
        cast(forecast_units as double) as forecast_units,
        cast(lower_80 as double) as lower_80,
        cast(upper_80 as double) as upper_80,
        cast(seasonal_naive_units as double) as seasonal_naive_units
    from forecast

),

final as (

    select * from observed
    union all
    select * from ahead

)

select * from final
