-- Gold: every customer with their RFM measures, scores, segment and cluster.
with

rfm as (

    select * from {{ ref('int_customer_rfm') }}

),

clusters as (

    select * from {{ ref('int_customer_clusters') }}

),

customers as (

    select * from {{ ref('stg_customers') }}

)

select
    rfm.customer_id,
    customers.region,
    customers.channel,
    rfm.as_of_date,
    rfm.last_purchase,
    rfm.recency_days,
    rfm.frequency,
    rfm.monetary,
    rfm.r_score,
    rfm.f_score,
    rfm.m_score,
    rfm.rfm_cell,
    rfm.segment,
    clusters.cluster
from rfm
join clusters using (customer_id)
left join customers using (customer_id)
