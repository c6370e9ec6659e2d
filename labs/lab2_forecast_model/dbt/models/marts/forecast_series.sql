-- One row per series: its status and the reason, the model it ships and why (the selection error
-- next to the seasonal-naive baseline's on the same windows, and whether the baseline guard kept
-- seasonal naive), and both on the final window. promo_candidate: the series had promotions enough in
-- its history to get the promotion candidate; uses_promotions: it ships it (the plan is in its number).
with

profile as (

    select * from {{ ref('int_series_profile') }}

),

selection as (

    select * from {{ ref('int_model_selection') }}

),

promo_history as (

    select sku, region, count(*) filter (where promo_depth > 0) as promo_periods
    from {{ ref('int_demand_series') }}
    group by sku, region

),

promo_candidates as (

    select distinct sku, region
    from {{ ref('int_candidate_forecasts') }}
    where method = 'promo_regression'

),

accuracy as (

    select * from {{ ref('forecast_accuracy') }}
    where level = 'series'

),

final as (

    select
        profile.sku,
        profile.region,
        profile.status,
        case
            when selection.chosen_method is null then 'no candidate produced a forecast in the backtest'
            else profile.reason
        end as reason,
        selection.chosen_method as model,
        selection.best_candidate,
        selection.guard_kept_baseline,
        selection.best_mae_vs_baseline,
        coalesce(promo_history.promo_periods, 0) as promo_periods,
        promo_candidates.sku is not null as promo_candidate,
        coalesce(selection.chosen_method = 'promo_regression', false) as uses_promotions,
        selection.selection_wape,
        selection.baseline_selection_wape,
        model_accuracy.wape as final_wape,
        baseline_accuracy.wape as baseline_final_wape,
        model_accuracy.wape_vs_naive as final_wape_vs_naive,
        model_accuracy.n_points as final_points,
        profile.first_period,
        profile.last_observed_period,
        profile.n_periods,
        profile.n_filled,
        profile.zero_share,
        profile.adi
    from profile
    left join selection
        on selection.sku = profile.sku and selection.region = profile.region
    left join promo_history
        on promo_history.sku = profile.sku and promo_history.region = profile.region
    left join promo_candidates
        on promo_candidates.sku = profile.sku and promo_candidates.region = profile.region
    left join accuracy as model_accuracy
        on model_accuracy.sku = profile.sku
        and model_accuracy.region = profile.region
        and model_accuracy.method = 'model'
    left join accuracy as baseline_accuracy
        on baseline_accuracy.sku = profile.sku
        and baseline_accuracy.region = profile.region
        and baseline_accuracy.method = 'seasonal_naive'

)

select * from final
