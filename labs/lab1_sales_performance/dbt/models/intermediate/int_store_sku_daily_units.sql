-- One row per store, SKU and day the store was open within the observed sales period, days
-- without a sale included (units = 0): the store-level twin of int_sku_daily_units.

with

stores as (

    select * from {{ ref('stg_stores') }}

),

products as (

    select * from {{ ref('stg_products') }}

),

sales as (

    select * from {{ ref('int_sales_daily_clean') }}

),

calendar as (

    select distinct sale_date from {{ ref('int_sku_daily_units') }}

),

grid as (

    -- a store counts from its opening day (every day when the opening date is unknown)
    select
        stores.store_id,
        products.sku,
        calendar.sale_date

    from stores

    cross join products

    inner join calendar
        on stores.opened_date is null
        or calendar.sale_date >= stores.opened_date

),

daily_sales as (

    select
        store_id,
        sku,
        sale_date,
        sum(units)::bigint as units,
        sum(sales_lines)::bigint as sales_lines

    from sales
    group by store_id, sku, sale_date

),

final as (

    select

        ----------  grain
        grid.store_id,
        grid.sku,
        grid.sale_date,

        ----------  numerics
        coalesce(daily_sales.units, 0) as units,
        coalesce(daily_sales.sales_lines, 0) as sales_lines

    from grid

    left join daily_sales
        on grid.store_id = daily_sales.store_id
        and grid.sku = daily_sales.sku
        and grid.sale_date = daily_sales.sale_date

)

select * from final
