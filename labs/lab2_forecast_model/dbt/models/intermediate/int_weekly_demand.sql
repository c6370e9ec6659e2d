-- One row per series (SKU × region) and week: the sales history plus the forecast horizon
-- (units null), each week flagged with the planned promotion and the holiday calendar.
{% set horizon = var('forecast_horizon_weeks', 12) %}

with

sales as (

    select * from {{ ref('stg_weekly_sales') }}

),

series as (

    select distinct sku, region from sales

),

bounds as (

    select min(week_start) as first_week, max(week_start) as last_week from sales

),

calendar as (

    select
        cast(w as date) as week_start,
        cast(w as date) > bounds.last_week as is_future
    from bounds,
        generate_series(
            bounds.first_week,
            bounds.last_week + to_weeks({{ horizon }}),
            interval 7 day
        ) as weeks(w)

),

grid as (

    select series.sku, series.region, calendar.week_start, calendar.is_future
    from series cross join calendar

),

promo_weeks as (

    select grid.sku, grid.region, grid.week_start, max(p.discount_pct) as discount_pct
    from grid
    join {{ ref('stg_promotions') }} as p
        on p.sku = grid.sku
        and p.region = grid.region
        and grid.week_start between p.start_week and p.end_week
    group by all

),

final as (

    select
        grid.sku,
        grid.region,
        grid.week_start,
        grid.is_future,
        sales.units,
        coalesce(promo_weeks.discount_pct, 0)::decimal(5, 4) as discount_pct,
        promo_weeks.sku is not null as on_promo,
        holidays.week_start is not null as is_holiday
    from grid
    left join sales using (sku, region, week_start)
    left join promo_weeks using (sku, region, week_start)
    left join {{ ref('stg_holidays') }} as holidays using (week_start)

)

select * from final
