with

sales as (

    select * from {{ ref('int_sales') }}

),

aggregated as (

    select

        ----------  grain
        region,
        category,
        week_start,

        ----------  measures
        count(*) as transactions,  -- one row per transaction_id in int_sales (tested unique)
        sum(units)::bigint as units,
        sum(gross_revenue) as gross_revenue,
        sum(revenue) as net_revenue,
        sum(gross_revenue) - sum(revenue) as discount_amount

    from sales
    group by region, category, week_start

)

select * from aggregated
