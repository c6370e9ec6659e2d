-- Every forecast lies inside its 80% interval, and the interval has positive width.
select *
from {{ ref('demand_forecast') }}
where not (lower_80 <= forecast_units and forecast_units <= upper_80 and lower_80 < upper_80)
