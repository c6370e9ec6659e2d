-- Promotion lift per store, where the data allows: the chain-level method on one store's units.
-- A store whose baseline days hold too few sales lines of the SKU (has_enough_data false in
-- int_promotion_store_lift_days) gets no lift (too_sparse): its interval would say little more
-- than "unknown".

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

till_lines as (

    -- clean lines of the store that carry the promotion's id: the same definition as the chain's
    -- promo_sales_lines (promotion_lift), so a promotion the till never applied shows 0 everywhere
    select
        promo_id,
        store_id,
        sum(sales_lines)::bigint as promo_sales_lines

    from {{ ref('int_sales_daily_clean') }}
    where promo_id is not null
    group by promo_id, store_id

),

store_evidence as (

    select
        promo_id,
        store_id,
        count(*) filter (where day_role = 'promo') as observed_promo_days,
        count(*) filter (where day_role = 'baseline') as baseline_days,
        coalesce(sum(sales_lines) filter (where day_role = 'promo'), 0) as promo_day_sales_lines,
        coalesce(sum(sales_lines) filter (where day_role = 'baseline'), 0) as baseline_sales_lines,
        bool_and(has_enough_data) as has_enough_data

    from store_days
    group by promo_id, store_id

),

joined as (

    select
        store_evidence.*,
        coalesce(till_lines.promo_sales_lines, 0) as promo_sales_lines,
        stores.region,
        chain.sku,
        chain.lift_status as chain_lift_status,
        estimates.avg_daily_units_during_promo,
        estimates.baseline_daily_units,
        estimates.lift_pct,
        estimates.lift_low_pct,
        estimates.lift_high_pct,
        chain.interval_level

    from store_evidence

    inner join chain
        on store_evidence.promo_id = chain.promo_id

    inner join stores
        on store_evidence.store_id = stores.store_id

    left join estimates
        on store_evidence.promo_id = estimates.promo_id
        and store_evidence.store_id = estimates.store_id

    left join till_lines
        on store_evidence.promo_id = till_lines.promo_id
        and store_evidence.store_id = till_lines.store_id

),

classified as (

    select
        *,
        case
            when chain_lift_status in ('not_observed', 'not_recorded_by_till') then chain_lift_status
            when observed_promo_days = 0 then 'not_observed'
            when not has_enough_data then 'too_sparse'
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
        observed_promo_days,
        baseline_days,
        promo_sales_lines,
        promo_day_sales_lines,
        baseline_sales_lines,
        lift_status,

        ----------  units (estimated only where the store has enough data)
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
