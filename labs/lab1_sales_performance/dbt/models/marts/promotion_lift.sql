with

promotions as (

    select * from {{ ref('stg_promotions') }}

),

sales as (

    select * from {{ ref('int_sales_daily_clean') }}

),

daily_units as (

    select * from {{ ref('int_sku_daily_units') }}

),

estimates as (

    select * from {{ ref('int_promotion_lift_estimates') }}
    where level = 'chain'

),

observed_period as (

    -- the period int_sku_daily_units spans: first to last clean sale date
    select
        min(sale_date) as first_day,
        max(sale_date) as last_day

    from daily_units

),

till_lines as (

    -- clean lines that carry the promotion's id: the till applied it
    select
        promo_id,
        sum(sales_lines)::bigint as promo_sales_lines

    from sales
    where promo_id is not null
    group by promo_id

),

flagged as (

    select
        promotions.*,
        estimates.* exclude (promo_id, level, store_id, days_fingerprint),
        coalesce(till_lines.promo_sales_lines, 0) as promo_sales_lines,
        coalesce(estimates.promo_days_used, 0) = 0 as is_unobserved,
        promotions.start_date < observed_period.first_day
            or promotions.end_date > observed_period.last_day as is_partially_observed,
        coalesce(till_lines.promo_sales_lines, 0) > 0 as is_recorded_by_till

    from promotions

    cross join observed_period

    left join estimates
        on promotions.promo_id = estimates.promo_id

    left join till_lines
        on promotions.promo_id = till_lines.promo_id

),

classified as (

    select
        *,
        case
            when is_unobserved then 'not_observed'
            when not is_recorded_by_till then 'not_recorded_by_till'
            when lift_pct is null then 'no_baseline'
            when is_partially_observed then 'partially_observed'
            else 'measured'
        end as lift_status

    from flagged

),

final as (

    select

        ----------  promotion
        promo_id,
        sku,
        start_date,
        end_date,
        discount_pct,
        date_diff('day', start_date, end_date) + 1 as promo_days,

        ----------  evidence
        coalesce(promo_days_used, 0) as observed_promo_days,
        coalesce(baseline_days, 0) as baseline_days,
        promo_sales_lines,

        ----------  flags
        is_partially_observed,
        is_recorded_by_till,
        lift_status,

        ----------  units
        avg_daily_units_during_promo,
        baseline_daily_units,

        ----------  lift (not reported for a promotion the till never applied)
        case when is_recorded_by_till then lift_pct end as lift_pct,
        case when is_recorded_by_till then lift_low_pct end as lift_low_pct,
        case when is_recorded_by_till then lift_high_pct end as lift_high_pct,
        interval_level

    from classified

)

select * from final
