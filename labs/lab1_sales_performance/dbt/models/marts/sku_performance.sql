with

products as (

    select * from {{ ref('stg_products') }}

),

sales as (

    select * from {{ ref('int_sales_daily_clean') }}

),

sku_totals as (

    select
        sku,
        sum(units)::bigint as units,
        sum(revenue) as net_revenue

    from sales
    group by sku

),

joined as (

    select
        products.sku,
        products.product_name,
        products.category,
        products.brand,
        coalesce(sku_totals.units, 0) as units,
        coalesce(sku_totals.net_revenue, 0) as net_revenue

    from products

    left join sku_totals
        on products.sku = sku_totals.sku

),

final as (

    select

        ----------  product
        sku,
        product_name,
        category,
        brand,

        ----------  measures
        units,
        net_revenue,
        round(net_revenue / nullif(units, 0), 4) as avg_selling_price,

        ----------  rankings
        rank() over (order by net_revenue desc) as revenue_rank,
        net_revenue / nullif(sum(net_revenue) over (partition by category), 0)
            as share_of_category_revenue

    from joined

)

select * from final
