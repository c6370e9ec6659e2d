-- One row: how much the purchase dates can tell, and so which date-based rules the lab applies.
-- Recency is scored only when it has at least 5 distinct values and at least var('min_share_away')
-- of customers have been away longer than the usual gap between purchases (median over customers
-- of their mean gap); otherwise nearly every customer bought within one usual gap, nobody can be
-- called lapsed, and r_score stays NULL. Tenure ("new customer") is used only when the data spans
-- at least twice var('new_customer_days').
with

measures as (

    select * from {{ ref('int_customer_measures') }}

),

usual_gap as (

    select
        median(mean_gap_days) as typical_gap_days,
        max(as_of_date) - min(first_purchase) as data_span_days
    from measures

),

spread as (

    select
        count(distinct measures.recency_days) as recency_values,
        avg(case when measures.recency_days > usual_gap.typical_gap_days then 1.0 else 0.0 end)
            as share_away_beyond_gap
    from measures
    cross join usual_gap

),

decided as (

    select
        usual_gap.data_span_days,
        usual_gap.typical_gap_days,
        spread.recency_values,
        round(spread.share_away_beyond_gap, 4) as share_away_beyond_gap,
        spread.recency_values >= 5
            and (usual_gap.typical_gap_days is null
                 or spread.share_away_beyond_gap >= {{ var('min_share_away') }}) as recency_scored,
        usual_gap.data_span_days >= 2 * {{ var('new_customer_days') }} as tenure_used
    from usual_gap
    cross join spread

)

select * from decided
