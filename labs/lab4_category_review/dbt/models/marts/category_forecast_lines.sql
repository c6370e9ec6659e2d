-- Lab 2's forecast lines with their category from the planning hierarchy; a SKU the hierarchy does
-- not list gets category '(unmapped)', so no forecast is silently dropped.
select
    coalesce(hierarchy.category, '(unmapped)') as category,
    forecast.sku,
    forecast.region,
    forecast.period_start,
    forecast.horizon,
    forecast.model,
    forecast.forecast_units
from {{ ref('stg_forecast') }} as forecast
left join {{ ref('stg_forecast_categories') }} as hierarchy
    on hierarchy.sku = forecast.sku
