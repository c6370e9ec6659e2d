-- Lab 2's published forecast per SKU, region and period ahead (input forecast).
select
    sku,
    region,
    period_start,
    horizon,
    model,
    forecast_units
from {{ source('inputs', 'forecast') }}
