-- The planning hierarchy (data/raw/forecast_categories*.csv): the category of each forecast SKU.
select
    sku,
    category
from {{ source('raw', 'forecast_categories') }}
