with

stores as (

    select * from {{ ref('stg_stores') }}

),

sales as (

    select * from {{ ref('int_sales_daily_clean') }}

),

store_totals as (

    select
        store_id,
        sum(revenue) as net_revenue,
        sum(sales_lines)::bigint as transactions  -- one clean line per transaction_id (tested unique in int_sales)

    from sales
    group by store_id

),

joined as (

    select
        stores.store_id,
        stores.store_name,
        stores.region,
        coalesce(store_totals.net_revenue, 0) as net_revenue,
        coalesce(store_totals.transactions, 0) as transactions

    from stores

    left join store_totals
        on stores.store_id = store_totals.store_id

),

final as (

    select

        ----------  store
        store_id,
        store_name,
        region,

        ----------  measures
        net_revenue,
        transactions,

        ----------  rankings
        rank() over (order by net_revenue desc) as revenue_rank,
        rank() over (partition by region order by net_revenue desc) as region_rank

    from joined

)

select * from final
