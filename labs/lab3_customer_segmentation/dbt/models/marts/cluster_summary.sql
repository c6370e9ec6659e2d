-- Gold: one row per k-means cluster: size, mean RFM measures, and the segment most of it falls in.
with

customers as (

    select * from {{ ref('customer_segments') }}

),

clusters as (

    select distinct k, silhouette from {{ ref('int_customer_clusters') }}

),

dominant as (

    select cluster, segment, count(*) as n,
        row_number() over (partition by cluster order by count(*) desc, segment) as rank
    from customers
    group by cluster, segment

)

select
    customers.cluster,
    count(*) as customers,
    round(avg(customers.recency_days), 1) as avg_recency_days,
    round(avg(customers.frequency), 2) as avg_frequency,
    round(avg(customers.monetary), 2) as avg_monetary,
    sum(customers.monetary) as revenue,
    any_value(dominant.segment) as main_segment,
    any_value(clusters.k) as k,
    any_value(clusters.silhouette) as silhouette
from customers
join dominant on dominant.cluster = customers.cluster and dominant.rank = 1
cross join clusters
group by customers.cluster
