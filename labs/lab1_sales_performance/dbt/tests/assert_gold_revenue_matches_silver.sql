-- Every gold table that totals net revenue must total exactly what int_sales holds.

with

silver as (

    select coalesce(sum(revenue), 0) as net_revenue from {{ ref('int_sales') }}

),

gold as (

    select 'sales_by_region_category_week' as model, coalesce(sum(net_revenue), 0) as net_revenue
    from {{ ref('sales_by_region_category_week') }}

    union all

    select 'sku_performance', coalesce(sum(net_revenue), 0)
    from {{ ref('sku_performance') }}

    union all

    select 'store_ranking', coalesce(sum(net_revenue), 0)
    from {{ ref('store_ranking') }}

)

select
    gold.model,
    gold.net_revenue as gold_net_revenue,
    silver.net_revenue as silver_net_revenue

from gold
cross join silver
where gold.net_revenue <> silver.net_revenue
