-- Revenue by region, category and ISO week. days_covered / is_partial_week say whether the week lies
-- wholly inside the sales history: the first and last weeks usually do not, and a 2-day last week
-- read as a full one looks like a collapse (the report's weekly chart leaves them out).
with

sales as (

    select * from {{ ref('int_sales_daily_clean') }}

),

data_range as (

    select min(sale_date) as first_date, max(sale_date) as last_date from sales

),

aggregated as (

    select

        ----------  grain
        region,
        category,
        week_start,

        ----------  measures
        sum(sales_lines)::bigint as transactions,  -- one clean line per transaction_id (tested unique in int_sales)
        sum(units)::bigint as units,
        sum(gross_revenue) as gross_revenue,
        sum(revenue) as net_revenue,
        sum(gross_revenue) - sum(revenue) as discount_amount

    from sales
    group by region, category, week_start

),

final as (

    select
        aggregated.region,
        aggregated.category,
        aggregated.week_start,
        -- days of the week (Monday to Sunday) inside the data's first and last sale date
        {{ week_coverage('aggregated.week_start') }},
        aggregated.transactions,
        aggregated.units,
        aggregated.gross_revenue,
        aggregated.net_revenue,
        aggregated.discount_amount
    from aggregated
    cross join data_range

)

select * from final
