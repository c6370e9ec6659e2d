{#
    Forecast accuracy as aggregate expressions (use with group by), over the points where both the
    actual and the forecast exist (a missing forecast never counts its actual in a denominator):
      n_points     points used
      wape         sum|a - f| / sum a
      mase         mean(|a - f| / scale), scale = in-sample MAE of seasonal naive (column scale)
      bias         sum(f - a) / sum a; positive = over-forecast
      coverage_80  share of actuals inside the 80% interval (points with that interval)
      coverage_95  share of actuals inside the 95% interval
#}
{% macro accuracy_metrics(actual='actual_units', forecast='forecast_units', scale='mase_scale') -%}
    {%- set both = actual ~ ' is not null and ' ~ forecast ~ ' is not null' -%}
    count(*) filter (where {{ both }}) as n_points,
    sum(abs({{ actual }} - {{ forecast }})) filter (where {{ both }})
        / nullif(sum({{ actual }}) filter (where {{ both }}), 0) as wape,
    avg(abs({{ actual }} - {{ forecast }}) / nullif({{ scale }}, 0)) filter (where {{ both }}) as mase,
    sum({{ forecast }} - {{ actual }}) filter (where {{ both }})
        / nullif(sum({{ actual }}) filter (where {{ both }}), 0) as bias,
    avg(case when {{ actual }} between lower_80 and upper_80 then 1.0 else 0.0 end)
        filter (where {{ both }} and lower_80 is not null and upper_80 is not null) as coverage_80,
    avg(case when {{ actual }} between lower_95 and upper_95 then 1.0 else 0.0 end)
        filter (where {{ both }} and lower_95 is not null and upper_95 is not null) as coverage_95
{%- endmacro %}
