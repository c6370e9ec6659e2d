-- Promotion lift per store, where the data allows: the chain-level method on one store's units.
-- A store whose baseline days hold fewer than promotion_lift_min_store_baseline_lines sales lines
-- of the SKU gets no lift (too_sparse): its interval would say little more than "unknown".

with

stores as (

    select * from {{ ref('stg_stores') }}

),

chain as (

    select * from {{ ref('promotion_lift') }}

),

store_days as (

    select * from {{ ref('int_promotion_store_lift_days') }}

),

estimates as (

    select * from {{ ref('int_promotion_lift_estimates') }}
    where level = 'store'

),

store_lines as (

    select
        promo_id,
        store_id,
        sum(case when day_role = 'promo' then sales_lines else 0 end) as promo_sales_lines,
        sum(case when day_role = 'baseline' then sales_lines else 0 end) as baseline_sales_lines

    from store_days
    group by promo_id, store_id

),

joined as (

    select
        estimates.promo_id,
        estimates.store_id,
        stores.region,
        chain.sku,
        chain.lift_status as chain_lift_status,
        estimates.promo_days_used,
        estimates.baseline_days,
        coalesce(store_lines.promo_sales_lines, 0) as promo_sales_lines,
        coalesce(store_lines.baseline_sales_lines, 0) as baseline_sales_lines,
        estimates.avg_daily_units_during_promo,
        estimates.baseline_daily_units,
        estimates.lift_pct,
        estimates.lift_low_pct,
        estimates.lift_high_pct,
        estimates.interval_level

    from estimates

    inner join chain
        on estimates.promo_id = chain.promo_id

    inner join stores
        on estimates.store_id = stores.store_id

    left join store_lines
        on estimates.promo_id = store_lines.promo_id
        and estimates.store_id = store_lines.store_id

),

classified as (

    select
        *,
        case
            when chain_lift_status in ('not_observed', 'not_recorded_by_till') then chain_lift_status
            when promo_days_used = 0 then 'not_observed'
            when baseline_sales_lines < {{ var('promotion_lift_min_store_baseline_lines') }} then 'too_sparse'
            when lift_pct is null then 'no_baseline'
            else chain_lift_status
        end as lift_status

    from joined

),

final as (

    select

        ----------  grain
        promo_id,
        store_id,

        ----------  attributes
        region,
        sku,

        ----------  evidence
        promo_days_used as observed_promo_days,
        baseline_days,
        promo_sales_lines,
        baseline_sales_lines,
        lift_status,

        ----------  units
        avg_daily_units_during_promo,
        baseline_daily_units,

        ----------  lift (only where the data allows)
        case when lift_status in ('measured', 'partially_observed') then lift_pct end as lift_pct,
        case when lift_status in ('measured', 'partially_observed') then lift_low_pct end as lift_low_pct,
        case when lift_status in ('measured', 'partially_observed') then lift_high_pct end as lift_high_pct,
        interval_level

    from classified

)

select * from final
