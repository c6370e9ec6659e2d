-- One row per series: its status and the reason, the model it ships and why (the selection error
-- next to the seasonal-naive baseline's on the same windows, and whether the baseline guard kept
-- seasonal naive), and both on the final window.
with

profile as (

    select * from {{ ref('int_series_profile') }}

),

selection as (

    select * from {{ ref('int_model_selection') }}

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
