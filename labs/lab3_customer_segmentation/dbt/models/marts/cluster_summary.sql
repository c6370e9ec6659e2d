-- Gold: one row per k-means cluster of the chosen k: size, mean RFM measures, and its main segment.
with

customers as (

    select * from {{ ref('customer_segments') }}

),

chosen as (

    select * from {{ ref('cluster_k_choice') }}
    where chosen

),

segment_counts as (

    select
        cluster,
        segment,
        count(*) as customers,
        row_number() over (partition by cluster order by count(*) desc, segment) as rank
    from customers
    group by cluster, segment

),

main_segment as (

    select cluster, segment from segment_counts where rank = 1

),

summarised as (

    select
        customers.cluster,
        count(*) as customers,
        round(avg(customers.recency_days), 1) as avg_recency_days,
        round(avg(customers.frequency), 2) as avg_frequency,
        round(avg(customers.monetary), 2) as avg_monetary,
        sum(customers.monetary) as revenue
    from customers
    group by customers.cluster

),

final as (

    select
        summarised.*,
        main_segment.segment as main_segment,
        chosen.k,
        chosen.silhouette,
        chosen.stability_ari,
        chosen.is_stable,
        -- what the report's chart shows: an unstable clustering is marked on every bar
        'cluster ' || summarised.cluster
            || case when chosen.is_stable then '' else ' (UNSTABLE clustering)' end as cluster_label
    from summarised
    inner join main_segment on main_segment.cluster = summarised.cluster
    cross join chosen

)

select * from final
