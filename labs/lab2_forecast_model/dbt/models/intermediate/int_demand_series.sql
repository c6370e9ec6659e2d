-- One row per series (SKU × region) and period, on the series' own calendar: from its first period
-- with data to the last period of the whole data set. A period without a row counts as zero units
-- (is_filled), so a gap or a stop never shifts a series; each series starts where its data starts.
-- promo_depth: the discount averaged over the period's days (macro promo_depth), 0 without a promotion.
with

demand as (

    select * from {{ ref('stg_demand') }}

),

per_period as (

    select sku, region, period_start, sum(units) as units
    from demand
    group by sku, region, period_start

),

data_bounds as (

    select min(period_start) as first_period, max(period_start) as last_period
    from per_period

),

series as (

    select sku, region, min(period_start) as first_period
    from per_period
    group by sku, region

),

calendar as (

    select
        series.sku,
        series.region,
        cast(unnest(generate_series(
            series.first_period, data_bounds.last_period, {{ period_interval(1) }}
        )) as date) as period_start
    from series
    cross join data_bounds

),

flags as (

    select
        calendar.sku,
        calendar.region,
        calendar.period_start,
        bool_or(promotions.promo_id is not null) as on_promo,
        bool_or(holidays.holiday_date is not null) as is_holiday
    from calendar
    left join {{ ref('stg_promotions') }} as promotions
        on promotions.sku = calendar.sku
        and promotions.region = calendar.region
        and promotions.start_date <= {{ period_end('calendar.period_start') }}
        and promotions.end_date >= calendar.period_start
    left join {{ ref('stg_holidays') }} as holidays
        on holidays.holiday_date between calendar.period_start and {{ period_end('calendar.period_start') }}
    group by calendar.sku, calendar.region, calendar.period_start

),

depth as (

    {{ promo_depth('calendar') }}

),

final as (

    select
        calendar.sku,
        calendar.region,
        calendar.period_start,
        date_diff('{{ period_part() }}', data_bounds.first_period, calendar.period_start) as period_index,
        coalesce(per_period.units, 0) as units,
        per_period.units is null as is_filled,
        flags.on_promo,
        coalesce(depth.promo_depth, 0) as promo_depth,
        flags.is_holiday
    from calendar
    cross join data_bounds
    left join per_period
        on per_period.sku = calendar.sku
        and per_period.region = calendar.region
        and per_period.period_start = calendar.period_start
    left join flags
        on flags.sku = calendar.sku
        and flags.region = calendar.region
        and flags.period_start = calendar.period_start
    left join depth
        on depth.sku = calendar.sku
        and depth.region = calendar.region
        and depth.period_start = calendar.period_start

)

select * from final
