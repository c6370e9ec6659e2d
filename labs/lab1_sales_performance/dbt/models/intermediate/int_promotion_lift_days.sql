-- The days behind each promotion's lift: its own days ('promo') and comparable days without a
-- promotion of the same SKU ('baseline'). Baseline days lie within
-- promotion_lift_baseline_window_days before the start or after the end, and outside every
-- promotion of the SKU widened by promotion_lift_pre_promo_days before (buyers wait for an
-- announced deal) and promotion_lift_post_promo_days after (buyers stocked up).

{% set window_days = var('promotion_lift_baseline_window_days') %}
{% set pre_days = var('promotion_lift_pre_promo_days') %}
{% set post_days = var('promotion_lift_post_promo_days') %}

with

promotions as (

    select * from {{ ref('stg_promotions') }}

),

daily_units as (

    select * from {{ ref('int_sku_daily_units') }}

),

promo_days as (

    select
        promotions.promo_id,
        daily_units.sale_date,
        'promo' as day_role

    from promotions

    inner join daily_units
        on promotions.sku = daily_units.sku
        and daily_units.sale_date between promotions.start_date and promotions.end_date

),

baseline_days as (

    select
        promotions.promo_id,
        daily_units.sale_date,
        'baseline' as day_role

    from promotions

    inner join daily_units
        on promotions.sku = daily_units.sku
        and daily_units.sale_date
            between promotions.start_date - {{ window_days }}
            and promotions.end_date + {{ window_days }}

    where not exists (
        select 1
        from promotions as any_promotion
        where any_promotion.sku = daily_units.sku
            and daily_units.sale_date
                between any_promotion.start_date - {{ pre_days }}
                and any_promotion.end_date + {{ post_days }}
    )

),

days as (

    select * from promo_days
    union all
    select * from baseline_days

),

final as (

    select

        ----------  grain
        days.promo_id,
        days.sale_date,

        ----------  attributes
        promotions.sku,
        days.day_role,
        daily_units.iso_weekday,

        ----------  numerics
        daily_units.units

    from days

    inner join promotions
        on days.promo_id = promotions.promo_id

    inner join daily_units
        on promotions.sku = daily_units.sku
        and days.sale_date = daily_units.sale_date

)

select * from final
