"""Per-series demand model: a rolling-origin backtest and the forecast of the weeks ahead.

The model, fitted separately for every SKU × region, is a log-linear regression (statsmodels OLS):
log(units) ~ trend + two yearly harmonics + on_promo + is_holiday. Promotions and holidays of the
weeks ahead are known from the plan, so they enter the forecast. Point forecasts are
exp(mean + sigma²/2) (mean of a log-normal); intervals are the 80% prediction interval, exponentiated.
The seasonal-naive baseline repeats the units of the same week one year (52 weeks) earlier.

Backtest: origins every ``horizon`` weeks so that the last window ends with the history; each
origin fits on the weeks up to it and forecasts the next ``horizon`` weeks (``backtest_origins``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import statsmodels.api as sm

PERIOD = 52.0
SEASON_LAG = 52


def design(t: np.ndarray, on_promo: np.ndarray, is_holiday: np.ndarray) -> np.ndarray:
    """Regressors: intercept, trend, two yearly harmonics, promotion and holiday flags."""
    angle = 2 * math.pi * t / PERIOD
    columns = [np.ones_like(t), t, np.sin(angle), np.cos(angle), np.sin(2 * angle), np.cos(2 * angle)]
    return np.column_stack([*columns, on_promo, is_holiday])


def fit_predict(history: pd.DataFrame, ahead: pd.DataFrame) -> pd.DataFrame:
    """Fit on ``history`` (t, units, flags) and predict ``ahead``: mean, lower_80, upper_80."""
    fit = sm.OLS(
        np.log(history["units"].to_numpy(float)),
        design(
            history["t"].to_numpy(float), history["on_promo"].to_numpy(float), history["is_holiday"].to_numpy(float)
        ),
    ).fit()
    x = design(ahead["t"].to_numpy(float), ahead["on_promo"].to_numpy(float), ahead["is_holiday"].to_numpy(float))
    frame = fit.get_prediction(x).summary_frame(alpha=0.2)
    return pd.DataFrame(
        {
            "model_units": np.exp(frame["mean"].to_numpy() + fit.scale / 2),
            "lower_80": np.exp(frame["obs_ci_lower"].to_numpy()),
            "upper_80": np.exp(frame["obs_ci_upper"].to_numpy()),
        }
    )


def one_series(rows: pd.DataFrame, horizon: int, origins: int) -> list[pd.DataFrame]:
    """Backtest windows and the future forecast of one series (rows sorted by week)."""
    rows = rows.reset_index(drop=True).assign(t=lambda d: np.arange(len(d), dtype=float))
    past = rows[~rows["is_future"]]
    future = rows[rows["is_future"]]
    units = past["units"].to_numpy(float)
    out = []
    n = len(past)
    for k in range(origins, 0, -1):
        cut = n - k * horizon
        window = past.iloc[cut : cut + horizon]
        predicted = fit_predict(past.iloc[:cut], window)
        out.append(
            pd.DataFrame(
                {
                    "kind": "backtest",
                    "origin_week": past["week_start"].iloc[cut - 1],
                    "week_start": window["week_start"].to_numpy(),
                    "horizon": np.arange(1, len(window) + 1),
                    "actual_units": window["units"].to_numpy(float),
                    "naive_units": units[cut - SEASON_LAG : cut - SEASON_LAG + len(window)],
                    **{c: predicted[c].to_numpy() for c in predicted},
                }
            )
        )
    predicted = fit_predict(past, future)
    out.append(
        pd.DataFrame(
            {
                "kind": "forecast",
                "origin_week": past["week_start"].iloc[-1],
                "week_start": future["week_start"].to_numpy(),
                "horizon": np.arange(1, len(future) + 1),
                "actual_units": np.nan,
                "naive_units": units[n - SEASON_LAG : n - SEASON_LAG + len(future)],
                **{c: predicted[c].to_numpy() for c in predicted},
            }
        )
    )
    for frame in out:
        frame.insert(0, "region", rows["region"].iloc[0])
        frame.insert(0, "sku", rows["sku"].iloc[0])
    return out


BACKTEST_ORIGINS = 4


def model(dbt, session):
    dbt.config(materialized="table")
    origins = BACKTEST_ORIGINS
    demand = dbt.ref("int_weekly_demand").df().sort_values(["sku", "region", "week_start"])
    horizon = int(demand.loc[demand["is_future"], "week_start"].nunique())  # var forecast_horizon_weeks
    demand["on_promo"] = demand["on_promo"].astype(float)
    demand["is_holiday"] = demand["is_holiday"].astype(float)
    frames = []
    for _, rows in demand.groupby(["sku", "region"], sort=True):
        frames.extend(one_series(rows, horizon, origins))
    return pd.concat(frames, ignore_index=True)
