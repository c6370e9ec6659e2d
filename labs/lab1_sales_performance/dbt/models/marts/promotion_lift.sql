with

promotions as (

    select * from {{ ref('stg_promotions') }}

),

sales as (

    select * from {{ ref('int_sales') }}

),

daily_units as (

    -- units of a SKU on one day over all stores; only days with at least one sale exist
    select
        sku,
        sale_date,
        sum(units) as daily_units

    from sales
    group by sku, sale_date

),

promo_days as (

    select
        promotions.promo_id,
        count(*) as days_with_sales,
        avg(daily_units.daily_units) as avg_daily_units_during_promo

    from promotions

    inner join daily_units
        on promotions.sku = daily_units.sku
        and daily_units.sale_date between promotions.start_date and promotions.end_date

    group by promotions.promo_id

),

baseline_days as (

    -- days of the SKU outside every promotion of that SKU
    select
        daily_units.sku,
        count(*) as baseline_days,
        avg(daily_units.daily_units) as avg_daily_units_baseline

    from daily_units

    where not exists (
        select 1
        from promotions
        where promotions.sku = daily_units.sku
            and daily_units.sale_date between promotions.start_date and promotions.end_date
    )

    group by daily_units.sku

),

final as (

    select

        ----------  promotion
        promotions.promo_id,
        promotions.sku,
        promotions.start_date,
        promotions.end_date,
        promotions.discount_pct,
        date_diff('day', promotions.start_date, promotions.end_date) + 1 as promo_days,

        ----------  during the promotion
        coalesce(promo_days.days_with_sales, 0) as days_with_sales,
        promo_days.avg_daily_units_during_promo,

        ----------  baseline
        coalesce(baseline_days.baseline_days, 0) as baseline_days,
        baseline_days.avg_daily_units_baseline,

        ----------  lift
        (
            promo_days.avg_daily_units_during_promo
            / nullif(baseline_days.avg_daily_units_baseline, 0) - 1
        ) * 100 as lift_pct

    from promotions

    left join promo_days
        on promotions.promo_id = promo_days.promo_id

    left join baseline_days
        on promotions.sku = baseline_days.sku

)

select * from final
