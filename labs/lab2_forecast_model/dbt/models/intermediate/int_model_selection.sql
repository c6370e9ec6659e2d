-- The model each series ships. The best candidate has the lowest mean absolute error over the
-- backtest windows before the final one (ties: the simpler candidate, candidate_rank). The baseline
-- guard (forecast value added): a candidate other than seasonal naive replaces the baseline only when
-- its MAE is at least var('forecast_baseline_margin') below the baseline's, both over the selection
-- points where the baseline has a forecast; else the series ships seasonal naive and
-- guard_kept_baseline says so. The ensemble is a candidate like the others. The final window is left
-- out here, so the accuracy reported on it (forecast_accuracy) is not flattered by the choice.
-- Series without a backtest: too_short -> auto_ets (naive under 7 periods), discontinued -> zero.
{% set origins = var('forecast_origins', 4) | int %}
{% set margin = var('forecast_baseline_margin', 0.05) | float %}

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

paired_errors as (

    -- each candidate against the baseline on the points both forecast (the guard's comparison)
    select
        candidate.sku,
        candidate.region,
        candidate.method,
        count(*) as paired_points,
        avg(abs(candidate.actual_units - candidate.forecast_units)) as paired_mae,
        avg(abs(baseline.actual_units - baseline.forecast_units)) as paired_baseline_mae
    from backtest as candidate
    inner join backtest as baseline
        on baseline.sku = candidate.sku
        and baseline.region = candidate.region
        and baseline.window_index = candidate.window_index
        and baseline.period_index = candidate.period_index
        and baseline.method = 'seasonal_naive'
    where candidate.forecast_units is not null and baseline.forecast_units is not null
    group by candidate.sku, candidate.region, candidate.method

),

ranked as (

    select
        *,
        row_number() over (partition by sku, region order by mae, candidate_rank) as choice
    from selection_errors
    where n_points > 0

),

best as (

    select
        ranked.sku,
        ranked.region,
        ranked.method,
        paired_errors.paired_mae,
        paired_errors.paired_baseline_mae,
        -- the guard applies where the baseline forecast some selection points
        ranked.method <> 'seasonal_naive'
            and paired_errors.paired_points > 0
            and not (paired_errors.paired_mae <= (1 - {{ margin }}) * paired_errors.paired_baseline_mae)
            as guard_kept_baseline
    from ranked
    left join paired_errors
        on paired_errors.sku = ranked.sku
        and paired_errors.region = ranked.region
        and paired_errors.method = ranked.method
    where ranked.choice = 1

),

chosen as (

    select
        best.sku,
        best.region,
        best.method as best_candidate,
        coalesce(best.guard_kept_baseline, false) as guard_kept_baseline,
        best.paired_mae / nullif(best.paired_baseline_mae, 0) as best_mae_vs_baseline,
        case when best.guard_kept_baseline then 'seasonal_naive' else best.method end as method
    from best

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
        chosen.best_candidate,
        chosen.guard_kept_baseline,
        chosen.best_mae_vs_baseline,
        selected.n_points as selection_points,
        selected.mae as selection_mae,
        selected.wape as selection_wape,
        baseline.mae as baseline_selection_mae,
        baseline.wape as baseline_selection_wape
    from profile
    left join chosen
        on chosen.sku = profile.sku and chosen.region = profile.region
    left join selection_errors as selected
        on selected.sku = profile.sku and selected.region = profile.region and selected.method = chosen.method
    left join selection_errors as baseline
        on baseline.sku = profile.sku and baseline.region = profile.region and baseline.method = 'seasonal_naive'

)

select * from final
