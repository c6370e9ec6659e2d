{#
    Quintile score 1-5 of a column, by value: a group of equal values shares one score, so no tie
    is ever broken by an id or by row order. Each row gets the quintile of its tie group's middle
    rank: score = ceil(5 * (first rank + last rank) / (2 * rows)), computed in integers. Without
    ties this is the usual quintile (ntile(5) when the row count is a multiple of 5); a column whose
    values are all equal scores 3 everywhere. order 'asc' gives 5 to the highest value, 'desc' to
    the lowest.
#}
{% macro tie_aware_quintile(column, order='asc') -%}
    ((5 * (rank() over (order by {{ column }} {{ order }})
           + count(*) over (order by {{ column }} {{ order }}))
      + 2 * count(*) over () - 1)
     // (2 * count(*) over ()))::integer
{%- endmacro %}
