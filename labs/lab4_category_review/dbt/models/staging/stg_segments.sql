-- Lab 3's published customers and revenue per RFM segment (input segments).
select
    segment,
    customers,
    revenue
from {{ source('inputs', 'segments') }}
