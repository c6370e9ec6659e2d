-- The days behind each promotion's lift in each store: the same promo and baseline days as the
-- chain-level measurement (int_promotion_lift_days), with the store's own units, on the days the
-- store was open. has_enough_data: the store's baseline days hold at least
-- promotion_lift_min_store_baseline_lines sales lines of the SKU (only then is a lift estimated).

with

lift_days as (

    select * from {{ ref('int_promotion_lift_days') }}

),

store_daily_units as (

    select * from {{ ref('int_store_sku_daily_units') }}

),

store_days as (

    select
        lift_days.promo_id,
        store_daily_units.store_id,
        lift_days.sale_date,
        lift_days.sku,
        lift_days.day_role,
        lift_days.iso_weekday,
        store_daily_units.units,
        store_daily_units.sales_lines

    from lift_days

    inner join store_daily_units
        on lift_days.sku = store_daily_units.sku
        and lift_days.sale_date = store_daily_units.sale_date

),

final as (

    select

        ----------  grain
        promo_id,
        store_id,
        sale_date,

        ----------  attributes
        sku,
        day_role,
        iso_weekday,
        sum(case when day_role = 'baseline' then sales_lines else 0 end)
            over (partition by promo_id, store_id)
            >= {{ var('promotion_lift_min_store_baseline_lines') }} as has_enough_data,

        ----------  numerics
        units,
        sales_lines

    from store_days

)

select * from final
