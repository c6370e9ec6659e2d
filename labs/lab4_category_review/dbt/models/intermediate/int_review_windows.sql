-- The three windows the review compares, from the calendar of complete weeks (7 days covered):
-- recent = the last {{ var('review_weeks', 12) }} complete weeks; prior = the same number of weeks
-- just before; last_year = the recent weeks shifted back 52 weeks (same ISO weekdays, 364 days).
-- A window counts only when every one of its weeks is complete in lab 1's history.
{% set weeks = var('review_weeks', 12) | int %}

with

complete_weeks as (

    select distinct week_start from {{ ref('stg_category_weeks') }} where days_covered = 7

),

last_week as (

    select max(week_start) as last_week_start from complete_weeks

),

windows as (

    select 'recent' as review_window, last_week_start - {{ 7 * (weeks - 1) }} as first_week, last_week_start as last_week
    from last_week
    union all
    select 'prior', last_week_start - {{ 7 * (2 * weeks - 1) }}, last_week_start - {{ 7 * weeks }}
    from last_week
    union all
    select 'last_year', last_week_start - {{ 364 + 7 * (weeks - 1) }}, last_week_start - 364
    from last_week

),

final as (

    select
        windows.review_window,
        windows.first_week,
        windows.last_week,
        count(complete_weeks.week_start) as complete_weeks,
        count(complete_weeks.week_start) = {{ weeks }} as is_complete
    from windows
    left join complete_weeks
        on complete_weeks.week_start between windows.first_week and windows.last_week
    group by windows.review_window, windows.first_week, windows.last_week

)

select * from final
