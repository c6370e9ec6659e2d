-- Gold: one row per RFM dimension (and tenure): how many distinct values it has, how large its
-- biggest tie is, whether the lab scores / uses it, and a note saying why when it does not.
with

customers as (

    select * from {{ ref('int_customer_rfm') }}

),

date_information as (

    select * from {{ ref('int_date_information') }}

),

profile as (

    select 'recency' as dimension, recency_days::double as value from customers
    union all
    select 'frequency', frequency::double from customers
    union all
    select 'monetary', monetary::double from customers
    union all
    select 'tenure', tenure_days::double from customers

),

ties as (

    select dimension, value, count(*) as customers
    from profile
    group by dimension, value

),

per_dimension as (

    select
        dimension,
        count(*) as distinct_values,
        round(max(customers) / sum(customers), 4) as largest_tie_share
    from ties
    group by dimension

),

final as (

    select
        per_dimension.dimension,
        per_dimension.distinct_values,
        per_dimension.largest_tie_share,
        case per_dimension.dimension
            when 'recency' then date_information.recency_scored
            when 'tenure' then date_information.tenure_used
            else true
        end as scored,
        case
            when per_dimension.dimension = 'recency' and not date_information.recency_scored then
                'recency not scored: ' || per_dimension.distinct_values || ' distinct value(s), '
                || round(100 * date_information.share_away_beyond_gap, 1)
                || '% of customers away longer than the usual gap between purchases ('
                || coalesce(round(date_information.typical_gap_days, 1)::varchar, 'n/a')
                || ' days): nearly everyone bought recently, so r_score is NULL and segments treat '
                || 'every customer as recent'
            when per_dimension.dimension = 'tenure' and not date_information.tenure_used then
                'tenure not used: the data spans ' || date_information.data_span_days
                || ' days, under twice the ' || {{ var('new_customer_days') }}
                || ' days that make a customer new, so nobody is called new'
            when per_dimension.dimension = 'tenure' then
                'new_customers: first purchase at most ' || {{ var('new_customer_days') }} || ' days ago'
            else 'scored 1-5 by tie-aware quintile: equal values share a score'
        end as note
    from per_dimension
    cross join date_information

)

select * from final
