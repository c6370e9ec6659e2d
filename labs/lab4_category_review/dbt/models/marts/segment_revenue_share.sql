-- Gold: how lab 3's customer segments split the revenue (lab 3's transactions carry no product
-- category, so this is the whole business's mix, shown beside the categories).
with

segments as (

    select * from {{ ref('stg_segments') }}

),

final as (

    select
        segment,
        customers,
        revenue,
        round(revenue / sum(revenue) over (), 4) as share_of_revenue,
        round(customers / sum(customers) over (), 4) as share_of_customers,
        rank() over (order by revenue desc) as revenue_rank
    from segments

)

select * from final
