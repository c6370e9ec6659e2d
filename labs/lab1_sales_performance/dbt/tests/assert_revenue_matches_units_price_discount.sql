-- Clean lines must carry revenue = round(units * unit_price * (1 - discount_pct), 2), within 0.01.
-- A line-by-line rule: only the lines the last build re-checked (docs/incremental.md).

select
    transaction_id,
    revenue,
    {{ expected_revenue('units', 'unit_price', 'discount_pct') }} as expected_revenue

from {{ ref('int_sales') }}

where {{ var('lab1_lines_checked_in_last_build') }}
    and abs(revenue - {{ expected_revenue('units', 'unit_price', 'discount_pct') }}) > 0.01
