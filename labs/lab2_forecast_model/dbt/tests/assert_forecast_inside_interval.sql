-- Every gold forecast lies inside its 80% interval, which lies inside the 95% interval.
select *
from {{ ref('demand_forecast') }}
where lower_80 is not null
    and not (
        lower_95 <= lower_80 and lower_80 <= forecast_units
        and forecast_units <= upper_80 and upper_80 <= upper_95
    )
