{#
    WAPE, MAPE and bias of forecasts against actuals, as aggregate expressions (use with group by):
      wape = sum|a - f| / sum a,  mape = mean(|a - f| / a) over a > 0,  bias = sum(f - a) / sum a.
#}
{% macro accuracy_metrics(actual, forecast) -%}
    count(*) as n_points,
    sum(abs({{ actual }} - {{ forecast }})) / sum({{ actual }}) as wape,
    avg(abs({{ actual }} - {{ forecast }}) / {{ actual }}) filter (where {{ actual }} > 0) as mape,
    sum({{ forecast }} - {{ actual }}) / sum({{ actual }}) as bias
{%- endmacro %}
