-- The forecast of the periods ahead per SKU × region from the model the series ships, with its 80%
-- and 95% prediction intervals and the seasonal-naive value for comparison. Discontinued series
-- are forecast 0 (no model); every series of the data appears.
with

periods as (

    select * from {{ ref('int_forecast_periods') }}

),

selection as (

    select * from {{ ref('int_model_selection') }}

),

ahead as (

    select * from {{ ref('int_candidate_forecasts') }}
    where kind = 'forecast'

),

final as (

    select
        periods.sku,
        periods.region,
        periods.period_start,
        periods.step as horizon,
        periods.forecast_origin,
        selection.status,
        selection.chosen_method as model,
        case when selection.status = 'discontinued' then 0 else model_rows.forecast_units end as forecast_units,
        case when selection.status = 'discontinued' then 0 else model_rows.lower_80 end as lower_80,
        case when selection.status = 'discontinued' then 0 else model_rows.upper_80 end as upper_80,
        case when selection.status = 'discontinued' then 0 else model_rows.lower_95 end as lower_95,
        case when selection.status = 'discontinued' then 0 else model_rows.upper_95 end as upper_95,
        naive_rows.forecast_units as seasonal_naive_units,
        periods.on_promo,
        periods.promo_depth,
        periods.is_holiday
    from periods
    inner join selection
        on selection.sku = periods.sku and selection.region = periods.region
    left join ahead as model_rows
        on model_rows.sku = periods.sku
        and model_rows.region = periods.region
        and model_rows.period_index = periods.period_index
        and model_rows.method = selection.chosen_method
    left join ahead as naive_rows
        on naive_rows.sku = periods.sku
        and naive_rows.region = periods.region
        and naive_rows.period_index = periods.period_index
        and naive_rows.method = 'seasonal_naive'

)

select * from final
