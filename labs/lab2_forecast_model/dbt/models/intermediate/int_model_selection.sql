-- The model each series ships: the candidate with the lowest mean absolute error over the backtest
-- windows before the final one (ties: the simpler candidate, candidate_rank). The final window is
-- left out here, so the accuracy reported on it (forecast_accuracy) is not flattered by the choice.
-- Series without a backtest: too_short -> auto_ets (naive under 7 periods), discontinued -> zero.
{% set origins = var('forecast_origins', 4) | int %}

with

backtest as (

    select * from {{ ref('int_candidate_forecasts') }}
    where kind = 'backtest' and window_index < {{ origins }}

),

profile as (

    select * from {{ ref('int_series_profile') }}

),

selection_errors as (

    select
        sku,
        region,
        method,
        candidate_rank,
        count(*) filter (where forecast_units is not null) as n_points,
        avg(abs(actual_units - forecast_units)) as mae,
        sum(abs(actual_units - forecast_units)) filter (where forecast_units is not null)
            / nullif(sum(actual_units) filter (where forecast_units is not null), 0) as wape
    from backtest
    group by sku, region, method, candidate_rank

),

ranked as (

    select
        *,
        row_number() over (partition by sku, region order by mae, candidate_rank) as choice
    from selection_errors
    where n_points > 0

),

chosen as (

    select sku, region, method, mae, wape, n_points from ranked where choice = 1

),

baseline as (

    select sku, region, mae, wape from selection_errors where method = 'seasonal_naive'

),

final as (

    select
        profile.sku,
        profile.region,
        profile.status,
        case
            when profile.status = 'discontinued' then 'zero'
            -- statsforecast's AutoETS refuses fewer than 7 points ("tiny datasets")
            when profile.status = 'too_short' and profile.n_periods < 7 then 'naive'
            when profile.status = 'too_short' then 'auto_ets'
            else chosen.method
        end as chosen_method,
        chosen.n_points as selection_points,
        chosen.mae as selection_mae,
        chosen.wape as selection_wape,
        baseline.mae as baseline_selection_mae,
        baseline.wape as baseline_selection_wape
    from profile
    left join chosen
        on chosen.sku = profile.sku and chosen.region = profile.region
    left join baseline
        on baseline.sku = profile.sku and baseline.region = profile.region

)

select * from final
