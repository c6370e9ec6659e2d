-- The days behind each promotion's lift in each store: the same promo and baseline days as the
-- chain-level measurement (int_promotion_lift_days), with the store's own units, on the days the
-- store was open.

with

lift_days as (

    select * from {{ ref('int_promotion_lift_days') }}

),

store_daily_units as (

    select * from {{ ref('int_store_sku_daily_units') }}

),

final as (

    select

        ----------  grain
        lift_days.promo_id,
        store_daily_units.store_id,
        lift_days.sale_date,

        ----------  attributes
        lift_days.sku,
        lift_days.day_role,
        lift_days.iso_weekday,

        ----------  numerics
        store_daily_units.units,
        store_daily_units.sales_lines

    from lift_days

    inner join store_daily_units
        on lift_days.sku = store_daily_units.sku
        and lift_days.sale_date = store_daily_units.sale_date

)

select * from final
