-- Gold: units forecast per category and period ahead (the sum of the category's series' point
-- forecasts; intervals do not add up across series, so none is given here: see lab 2 per series).
select
    category,
    period_start,
    sum(forecast_units) as forecast_units,
    count(*) as series
from {{ ref('category_forecast_lines') }}
group by category, period_start
