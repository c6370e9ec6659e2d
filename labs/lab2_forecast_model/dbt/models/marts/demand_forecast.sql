-- The forecast of the weeks ahead per SKU × region, with its 80% prediction interval.
with

forecasts as (

    select * from {{ ref('int_forecasts') }}
    where kind = 'forecast'

),

final as (

    select
        sku,
        region,
        week_start::date as week_start,
        horizon,
        origin_week::date as forecast_origin,
        round(model_units, 2) as forecast_units,
        round(lower_80, 2) as lower_80,
        round(upper_80, 2) as upper_80,
        round(naive_units, 2) as seasonal_naive_units
    from forecasts

)

select * from final
