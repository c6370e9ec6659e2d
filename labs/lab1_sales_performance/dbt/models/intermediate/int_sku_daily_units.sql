-- One row per SKU and calendar day of the observed sales period, days without a sale included
-- (units = 0), so that averages over days are not inflated by dropping the slow days.

with

products as (

    select * from {{ ref('stg_products') }}

),

sales as (

    select * from {{ ref('int_sales_daily_clean') }}

),

observed_period as (

    select
        min(sale_date) as first_day,
        max(sale_date) as last_day

    from sales

),

calendar as (

    select unnest(generate_series(first_day, last_day, interval 1 day))::date as sale_date
    from observed_period

),

grid as (

    select
        products.sku,
        calendar.sale_date

    from products

    cross join calendar

),

daily_sales as (

    select
        sku,
        sale_date,
        sum(units)::bigint as units,
        sum(sales_lines)::bigint as sales_lines

    from sales
    group by sku, sale_date

),

final as (

    select

        ----------  grain
        grid.sku,
        grid.sale_date,

        ----------  calendar
        isodow(grid.sale_date)::integer as iso_weekday,

        ----------  numerics
        coalesce(daily_sales.units, 0) as units,
        coalesce(daily_sales.sales_lines, 0) as sales_lines

    from grid

    left join daily_sales
        on grid.sku = daily_sales.sku
        and grid.sale_date = daily_sales.sale_date

)

select * from final
