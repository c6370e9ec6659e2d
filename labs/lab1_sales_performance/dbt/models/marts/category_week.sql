-- Gold for other labs (lab 4's category review reads it as an input): revenue per category and
-- ISO week, with how many days of that week the sales data covers, so a reader can tell a complete
-- week from the partial first and last weeks of the history (is_partial_week: days_covered < 7).
with

sales as (

    select * from {{ ref('int_sales_daily_clean') }}

),

data_range as (

    select min(sale_date) as first_date, max(sale_date) as last_date from sales

),

weekly as (

    select
        category,
        week_start,
        sum(units)::bigint as units,
        sum(gross_revenue) as gross_revenue,
        sum(revenue) as net_revenue
    from sales
    group by category, week_start

),

final as (

    select
        weekly.category,
        weekly.week_start,
        -- days of the week (Monday to Sunday) inside the data's first and last sale date
        {{ week_coverage('weekly.week_start') }},
        weekly.units,
        weekly.gross_revenue,
        weekly.net_revenue
    from weekly
    cross join data_range

)

select * from final
