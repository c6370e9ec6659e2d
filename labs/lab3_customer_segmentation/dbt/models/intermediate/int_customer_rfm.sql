-- RFM scores and segment per customer. Scores are tie-aware quintiles (macro tie_aware_quintile):
-- 5 = most recent / most frequent / highest spend, and equal values always share a score, so a
-- score never depends on customer ids or row order. r_score is NULL when the dates cannot rank
-- recency (int_date_information); the segment comes from the macro rfm_segment.
with

measures as (

    select * from {{ ref('int_customer_measures') }}

),

date_information as (

    select * from {{ ref('int_date_information') }}

),

scored as (

    select
        measures.*,
        case
            when date_information.recency_scored
                then {{ tie_aware_quintile('measures.recency_days', 'desc') }}
        end as r_score,
        {{ tie_aware_quintile('measures.frequency') }} as f_score,
        {{ tie_aware_quintile('measures.monetary') }} as m_score,
        date_information.tenure_used
    from measures
    cross join date_information

),

segmented as (

    select
        customer_id,
        first_purchase,
        last_purchase,
        as_of_date,
        recency_days,
        tenure_days,
        frequency,
        monetary,
        r_score,
        f_score,
        m_score,
        coalesce(r_score::varchar, '-') || f_score::varchar || m_score::varchar as rfm_cell,
        {{ rfm_segment('r_score', 'f_score', 'm_score',
                       'case when tenure_used then tenure_days end', 'recency_days') }} as segment
    from scored

)

select * from segmented
