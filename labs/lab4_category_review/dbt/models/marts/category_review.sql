-- Gold: one row per category for the category manager: net revenue and units of the last complete
-- weeks against the weeks before and the same weeks last year (null where lab 1's history does not
-- cover a window completely, with the reason), and the units lab 2 forecasts for the periods ahead.

with

weeks as (

    select * from {{ ref('stg_category_weeks') }}

),

windows as (

    select * from {{ ref('int_review_windows') }}

),

categories as (

    select distinct category from weeks
    union
    select distinct category from {{ ref('stg_forecast_categories') }}

),

window_sales as (

    select
        categories.category,
        windows.review_window,
        windows.is_complete,
        coalesce(sum(weeks.net_revenue), 0) as net_revenue,
        coalesce(sum(weeks.units), 0) as units
    from categories
    cross join windows
    left join weeks
        on weeks.category = categories.category
        and weeks.week_start between windows.first_week and windows.last_week
    group by categories.category, windows.review_window, windows.is_complete

),

pivoted as (

    select
        category,
        max(net_revenue) filter (where review_window = 'recent' and is_complete) as revenue_recent,
        max(units) filter (where review_window = 'recent' and is_complete) as units_recent,
        max(net_revenue) filter (where review_window = 'prior' and is_complete) as revenue_prior,
        max(net_revenue) filter (where review_window = 'last_year' and is_complete) as revenue_last_year
    from window_sales
    group by category

),

forecast as (

    select
        category,
        sum(forecast_units) as forecast_units_ahead,
        count(distinct period_start) as forecast_periods,
        count(distinct sku || '|' || region) as forecast_series
    from {{ ref('category_forecast_lines') }}
    group by category

),

recent as (

    select last_week as last_week_start from windows where review_window = 'recent'

),

final as (

    select
        pivoted.category,
        recent.last_week_start,
        pivoted.revenue_recent,
        pivoted.units_recent,
        pivoted.revenue_prior,
        round(pivoted.revenue_recent / nullif(pivoted.revenue_prior, 0) - 1, 4) as change_vs_prior,
        pivoted.revenue_last_year,
        round(pivoted.revenue_recent / nullif(pivoted.revenue_last_year, 0) - 1, 4) as change_vs_last_year,
        case
            when pivoted.revenue_prior is null then 'lab 1 history does not cover the prior weeks completely'
            when pivoted.revenue_last_year is null then 'lab 1 history does not reach a year back'
        end as comparison_note,
        coalesce(forecast.forecast_units_ahead, 0) as forecast_units_ahead,
        coalesce(forecast.forecast_periods, 0) as forecast_periods,
        coalesce(forecast.forecast_series, 0) as forecast_series
    from pivoted
    cross join recent
    left join forecast
        on forecast.category = pivoted.category

)

select * from final
