-- Gold: every customer who bought, with RFM measures, scores, segment and cluster (chosen k).
with

rfm as (

    select * from {{ ref('int_customer_rfm') }}

),

clusters as (

    select * from {{ ref('int_customer_clusters') }}
    where chosen

),

customers as (

    select * from {{ ref('stg_customers') }}

),

joined as (

    select
        -- customer
        rfm.customer_id,
        customers.region,
        customers.channel,
        customers.signup_date,

        -- measures
        rfm.as_of_date,
        rfm.first_purchase,
        rfm.last_purchase,
        rfm.recency_days,
        rfm.tenure_days,
        rfm.frequency,
        rfm.monetary,

        -- scores and groups
        rfm.r_score,
        rfm.f_score,
        rfm.m_score,
        rfm.rfm_cell,
        rfm.segment,
        clusters.cluster
    from rfm
    inner join clusters on clusters.customer_id = rfm.customer_id
    left join customers on customers.customer_id = rfm.customer_id

)

select * from joined
