with

sales as (

    select * from {{ ref('int_sales_daily_clean') }}

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

)

select * from aggregated
