-- Lab 1's published revenue per category and ISO week (input category_weeks, a snapshot copied at Load).
select
    category,
    week_start,
    days_covered,
    units,
    net_revenue
from {{ source('inputs', 'category_weeks') }}
