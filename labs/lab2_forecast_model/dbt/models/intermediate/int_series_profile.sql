-- One row per series: its history and the class that decides which models it gets (the robustness
-- policy of docs/lab2-forecast.md), with the reason in words.
--   discontinued   no demand in the last `horizon` periods: forecast 0, no model
--   too_short      history before the first backtest origin shorter than one horizon: no backtest,
--                  automatic ETS without season (fallback naive)
--   intermittent   average demand interval >= forecast.intermittent_adi (and more than two horizons
--                  before the first origin, for conformal intervals): intermittent-demand methods
--   short_history  fewer than two seasons before the first origin: models without seasonality
--   regular        every candidate
{% set season = var('forecast_season_length', 52) | int %}
{% set horizon = var('forecast_horizon', 12) | int %}
{% set origins = var('forecast_origins', 4) | int %}
{% set adi_limit = var('forecast_intermittent_adi', 1.32) | float %}

with

series as (

    select * from {{ ref('int_demand_series') }}

),

data_end as (

    select max(period_index) as last_index from series

),

stats as (

    select
        series.sku,
        series.region,
        min(series.period_start) as first_period,
        max(series.period_start) filter (where not series.is_filled) as last_observed_period,
        max(series.period_start) filter (where series.units > 0) as last_demand_period,
        count(*) as n_periods,
        count(*) filter (where series.is_filled) as n_filled,
        count(*) filter (where series.units = 0) as n_zero,
        count(*) filter (where series.units > 0) as n_positive,
        count(*) filter (
            where series.units > 0 and series.period_index > data_end.last_index - {{ horizon }}
        ) as n_recent_positive
    from series
    cross join data_end
    group by series.sku, series.region

),

measured as (

    select
        *,
        n_periods::double / nullif(n_positive, 0) as adi,
        n_zero::double / n_periods as zero_share,
        n_periods - {{ origins * horizon }} as train_periods
    from stats

),

classified as (

    select
        *,
        case
            when n_recent_positive = 0 then 'discontinued'
            when train_periods < {{ horizon }} then 'too_short'
            when adi >= {{ adi_limit }} and train_periods > {{ 2 * horizon }} then 'intermittent'
            when train_periods < {{ 2 * season }} then 'short_history'
            else 'regular'
        end as status
    from measured

),

final as (

    select
        sku,
        region,
        first_period,
        last_observed_period,
        last_demand_period,
        n_periods,
        n_filled,
        n_zero,
        round(zero_share, 4) as zero_share,
        round(adi, 4) as adi,
        train_periods,
        status,
        case status
            when 'discontinued' then
                'no demand in the last {{ horizon }} periods (last demand '
                || coalesce(cast(last_demand_period as varchar), 'never') || '): forecast 0, no model'
            when 'too_short' then
                n_periods || ' periods: fewer than the {{ origins }} x {{ horizon }} backtest periods plus '
                || '{{ horizon }} to fit, so not backtested; '
                || case when n_periods < 7 then 'naive (last value)' else 'automatic ETS without season' end
            when 'short_history' then
                train_periods || ' periods before the first backtest origin, under two seasons ({{ 2 * season }}): '
                || 'models without seasonality'
            when 'intermittent' then
                'average demand interval ' || round(adi, 2) || ' >= {{ adi_limit }} ('
                || round(100 * zero_share) || '% zero periods): intermittent-demand methods'
            else 'every candidate'
        end as reason
    from classified

)

select * from final
