-- Every series of the data has a row in forecast_series and horizon rows in demand_forecast:
-- a series the lab cannot forecast is reported with its reason, never dropped.
{% set horizon = var('forecast_horizon', 12) | int %}
with

series as (

    select distinct sku, region from {{ ref('stg_demand') }}

),

reported as (

    select series.sku, series.region, count(forecast.horizon) as n_ahead, max(s.reason) as reason
    from series
    left join {{ ref('forecast_series') }} as s
        on s.sku = series.sku and s.region = series.region
    left join {{ ref('demand_forecast') }} as forecast
        on forecast.sku = series.sku and forecast.region = series.region
    group by series.sku, series.region

)

select * from reported where n_ahead <> {{ horizon }} or reason is null
