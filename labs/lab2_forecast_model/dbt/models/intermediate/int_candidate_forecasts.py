"""Every candidate model of every series: a rolling-origin backtest and the forecast ahead.

Models come from Nixtla's statsforecast; which candidates a series gets depends on its status in
int_series_profile (the robustness policy of docs/lab2-forecast.md):

- regular: seasonal naive, AutoETS, AutoTheta and AutoARIMA at the season length; above
  ``forecast.long_season`` (e.g. 52 weeks) AutoETS, AutoARIMA and AutoTheta are too slow for the
  time budget (docs/benchmarks.md), so the dynamic optimised Theta (one of AutoTheta's four
  variants) and MSTL (a seasonal decomposition whose trend is an automatic non-seasonal ETS) take
  their place; with ``forecast.harmonic_regression`` also a dynamic harmonic regression
  (``harmonic_regression``: Fourier terms chosen by AICc, AR errors); with ``forecast.promotions`` (on by
  default) the series with at least 3 promoted periods before the first backtest window also get
  ``promo_regression``: the same regression on log(1 + units) with the planned promotions' discount
  depth and a post-promotion flag as regressors (``promo_regression``), at any season length;
- intermittent: seasonal naive and the intermittent-demand methods CrostonSBA, ADIDA, IMAPA and TSB,
  with conformal intervals (they have no native ones);
- short_history: seasonal naive (null where a season of history is missing), naive, and AutoETS and
  AutoTheta without season;
- too_short: AutoETS without season (naive below 7 periods, where statsforecast's ETS refuses to
  fit), forecast only (no backtest);
- discontinued: no model (demand_forecast says 0).

Every backtested class with two or more models besides seasonal naive also gets ``ensemble``: the mean of
those models' forecasts and bounds (a forecast combination, robust where no single model is best). The
promotion candidate stays out of it (it forecasts only the promoted series of its class).

Calibrated intervals: every model's own 80% and 95% bounds are scaled to cover what they claim on that
model's own backtest errors for that series (split-conformal scaling, see ``calibrate``). The final
window's bounds are scaled by factors from the earlier windows only, so the coverage reported on it is
out of sample; the forecast ahead uses factors from every backtest window. The model's native bounds
stay in ``native_*`` columns.

kind = 'backtest': ``forecast.origins`` windows of ``forecast.horizon`` periods ending with the data,
the model refitted at each origin (window 1 is the earliest; the last one is the final window the
selection never sees). kind = 'forecast': the next ``horizon`` periods after the data. A model that
fails on a series is replaced for that series by naive (statsforecast's fallback model), so one bad
series never blanks another. Forecasts and bounds are clipped at zero (units cannot be negative).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

LEVELS = (80, 95)
BOUNDS = [f"{side}_{level}" for level in LEVELS for side in ("lower", "upper")]
_BOUND_SUFFIXES = [f"-{short}-{level}" for level in LEVELS for short in ("lo", "hi")]
COLUMNS = [
    "sku",
    "region",
    "kind",
    "method",
    "candidate_rank",
    "window_index",
    "cutoff_index",
    "period_index",
    "step",
    "actual_units",
    "forecast_units",
    "lower_80",
    "upper_80",
    "lower_95",
    "upper_95",
    "scale_80",
    "scale_95",
    *[f"native_{bound}" for bound in BOUNDS],
]


def candidates(status: str, season: int, horizon: int, long_season: int) -> list[object]:
    """The statsforecast models a series of this status gets, in order of preference on ties."""
    from statsforecast.models import (
        ADIDA,
        IMAPA,
        MSTL,
        TSB,
        AutoARIMA,
        AutoETS,
        AutoTheta,
        CrostonSBA,
        DynamicOptimizedTheta,
        Naive,
        SeasonalNaive,
    )
    from statsforecast.utils import ConformalIntervals

    baseline = SeasonalNaive(season_length=season, alias="seasonal_naive")
    if status == "regular" and season <= long_season:
        return [
            baseline,
            AutoETS(season_length=season, alias="auto_ets"),
            AutoTheta(season_length=season, alias="auto_theta"),
            AutoARIMA(season_length=season, alias="auto_arima"),
        ]
    if status == "regular":
        return [
            baseline,
            DynamicOptimizedTheta(season_length=season, alias="dynamic_theta"),
            # undamped trends only: a third cheaper than "ZZN" with damping, same accuracy in the benchmark
            MSTL(season_length=season, trend_forecaster=AutoETS(model="ZZN", damped=False), alias="mstl_auto_ets"),
        ]
    if status == "intermittent":
        conformal = ConformalIntervals(h=horizon, n_windows=2)
        return [
            baseline,
            CrostonSBA(alias="croston_sba", prediction_intervals=conformal),
            ADIDA(alias="adida", prediction_intervals=conformal),
            IMAPA(alias="imapa", prediction_intervals=conformal),
            TSB(alpha_d=0.2, alpha_p=0.2, alias="tsb", prediction_intervals=conformal),
        ]
    if status == "short_history":
        return [
            baseline,
            Naive(alias="naive"),
            AutoETS(season_length=1, alias="auto_ets"),
            AutoTheta(season_length=1, alias="auto_theta"),
        ]
    if status == "too_short":
        return [AutoETS(season_length=1, alias="auto_ets"), Naive(alias="naive")]
    return []


class HarmonicRegression:
    """The dynamic harmonic regression candidate (``harmonic_regression``), fitted here in numpy: not a
    statsforecast model, so its columns are added to statsforecast's output under ``alias``. (A plain
    class: dbt executes this file without registering it as a module, which dataclasses need.)"""

    def __init__(self, season: int, alias: str = "dhr", max_k: int = 10, max_p: int = 3) -> None:
        self.season, self.alias, self.max_k, self.max_p = season, alias, max_k, max_p


def fourier_terms(t: np.ndarray, period: float, k: int) -> np.ndarray:
    """sin and cos of 2πjt/period for j = 1..k, as 2k columns."""
    angle = 2 * np.pi * np.outer(t, np.arange(1, k + 1)) / period
    return np.column_stack([np.sin(angle), np.cos(angle)]) if k else np.empty((len(t), 0))


def _aicc(rss: float, n: int, params: int) -> float:
    if n - params - 1 <= 0 or rss <= 0:
        return np.inf
    return n * np.log(rss / n) + 2 * params + 2 * params * (params + 1) / (n - params - 1)


def _ar_errors(e: np.ndarray, max_p: int) -> tuple[np.ndarray, float]:
    """AR(p) coefficients of the regression errors (least squares, p in 0..max_p by AICc on a common
    sample; a non-stationary fit is refused) and the innovation variance."""
    target = e[max_p:]
    best = (
        _aicc(float(target @ target), len(target), 1),
        np.zeros(0),
        float(target @ target) / max(len(target) - 1, 1),
    )
    for p in range(1, max_p + 1):
        lags = np.column_stack([e[max_p - i : len(e) - i] for i in range(1, p + 1)])
        phi, *_ = np.linalg.lstsq(lags, target, rcond=None)
        companion = np.eye(p, k=-1)
        companion[0] = phi
        if np.max(np.abs(np.linalg.eigvals(companion))) >= 0.99:
            continue
        resid = target - lags @ phi
        rss = float(resid @ resid)
        score = _aicc(rss, len(target), p + 1)
        if score < best[0]:
            best = (score, phi, rss / max(len(target) - p - 1, 1))
    return best[1], best[2]


def select_harmonics(
    y: np.ndarray, h: int, model: HarmonicRegression, exog: np.ndarray | None = None
) -> tuple[np.ndarray, list[int], np.ndarray]:
    """The regression part: (design over history and horizon, chosen columns, coefficients). Columns:
    0 level, 1 trend (t / n), then the ``exog`` columns (n + h rows, always in the fit), then sin/cos
    pairs of the season; K and the trend by the lowest AICc of the least-squares fit (from the Gram
    matrix: one pass over the data for every K)."""
    n = len(y)
    t = np.arange(n + h, dtype=float)
    k_max = max(1, min(model.max_k, model.season // 2, (n - 2 * model.max_p - 8) // 2))
    terms = fourier_terms(t, model.season, k_max)
    # column order: level, trend, exog, sin_1, cos_1, sin_2, cos_2, ... (pairs: the first 2K are K harmonics)
    pairs = np.column_stack([terms[:, [j, k_max + j]] for j in range(k_max)])
    extra = np.empty((n + h, 0)) if exog is None else np.asarray(exog, dtype=float).reshape(n + h, -1)
    design = np.column_stack([np.ones(n + h), t / n, extra, pairs])
    fixed = list(range(2, 2 + extra.shape[1]))
    first_pair = 2 + extra.shape[1]
    past = design[:n]
    gram, moment, total = past.T @ past, past.T @ y, float(y @ y)
    best = (np.inf, [0], np.array([y.mean()]))
    for k in range(1, k_max + 1):
        for trend in (False, True):
            cols = [0, *([1] if trend else []), *fixed, *range(first_pair, first_pair + 2 * k)]
            try:
                beta = np.linalg.solve(gram[np.ix_(cols, cols)], moment[cols])
            except np.linalg.LinAlgError:
                continue
            score = _aicc(total - float(beta @ moment[cols]), n, len(cols) + 1)
            if score < best[0]:
                best = (score, cols, beta)
    return design, best[1], best[2]


def harmonic_regression(
    y: np.ndarray,
    h: int,
    model: HarmonicRegression,
    levels: tuple[int, ...] = LEVELS,
    exog: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Dynamic harmonic regression (FPP3 "Weekly data"): y = level [+ trend] + K Fourier pairs of the
    season + AR(p) errors. K (1..max_k) and the trend by AICc of the regression; p (0..max_p) by AICc of
    the errors (two stages, not a joint ARIMA fit: this keeps 1,000 weekly series inside the time
    budget). Normal intervals from the AR forecast variance (the lab then calibrates them)."""
    from scipy.stats import norm

    n = len(y)
    design, cols, beta = select_harmonics(y, h, model, exog)
    past = design[:n]
    errors = y - past[:, cols] @ beta
    phi, sigma2 = _ar_errors(errors, model.max_p)
    p = len(phi)
    history = list(errors[-p:]) if p else []
    ahead = np.empty(h)
    psi = np.zeros(h)
    psi[0] = 1.0
    for step in range(h):
        ahead[step] = float(np.dot(phi, history[::-1][:p])) if p else 0.0
        history.append(ahead[step])
        if step:
            psi[step] = sum(phi[i] * psi[step - 1 - i] for i in range(min(p, step)))
    mean = design[n:, cols] @ beta + ahead
    sd = np.sqrt(sigma2 * np.cumsum(psi**2))
    out = {"": mean}
    for level in levels:
        z = norm.ppf(0.5 + level / 200)
        out[f"-lo-{level}"], out[f"-hi-{level}"] = mean - z * sd, mean + z * sd
    return out


class PromoRegression:
    """The promotion candidate (``promo_regression``): a dynamic harmonic regression of log(1 + units)
    with the planned promotions as regressors, for series with promotions in their history (fitted
    here in numpy, like ``HarmonicRegression``)."""

    def __init__(
        self, season: int, alias: str = "promo_regression", min_promo_periods: int = 3, max_k: int = 10
    ) -> None:
        self.season, self.alias, self.min_promo_periods = season, alias, min_promo_periods
        self.harmonics = HarmonicRegression(season, alias=alias, max_k=max_k)


def promo_regressors(depth: np.ndarray) -> np.ndarray:
    """The regressors of the promotion candidate from one series' discount depth per period (history
    then horizon): the depth itself, and a flag for the first period after a promoted one that is not
    promoted itself (the post-promotion dip of pantry loading)."""
    depth = np.nan_to_num(np.asarray(depth, dtype=float))
    after = np.zeros(len(depth))
    after[1:] = (depth[:-1] > 0) & (depth[1:] == 0)
    return np.column_stack([depth, after])


def promo_regression(
    y: np.ndarray, depth: np.ndarray, h: int, model: PromoRegression, levels: tuple[int, ...] = LEVELS
) -> dict[str, np.ndarray]:
    """log(1 + y) = level [+ trend] + K Fourier pairs + b1 depth + b2 after-promotion + AR(p) errors:
    ``harmonic_regression`` on the log scale with the promotion regressors (``depth`` covers history
    and horizon: the plan is known ahead). A promotion multiplies demand by exp(b1 depth), whatever the
    level and season (multiplicative, as a lift is). Back-transformed with exp - 1: the forecast is
    the median of the log-scale model (the value the lab's MAE-based selection rewards), the bounds
    its quantiles. Regressors that are constant over the history are left out (they would be
    collinear with the level)."""
    exog = promo_regressors(depth)
    n = len(y)
    keep = [j for j in range(exog.shape[1]) if np.ptp(exog[:n, j]) > 0]
    fitted = harmonic_regression(np.log1p(np.clip(y, 0, None)), h, model.harmonics, levels, exog[:, keep])
    return {suffix: np.expm1(np.clip(values, None, 50.0)) for suffix, values in fitted.items()}


def naive_forecast(y: np.ndarray, h: int, levels: tuple[int, ...] = LEVELS) -> dict[str, np.ndarray]:
    """The last value, with random-walk normal intervals (the harmonic regression's fallback)."""
    from scipy.stats import norm

    mean = np.full(h, float(y[-1]))
    sd = (np.std(np.diff(y)) if len(y) > 1 else 0.0) * np.sqrt(np.arange(1, h + 1))
    out = {"": mean}
    for level in levels:
        z = norm.ppf(0.5 + level / 200)
        out[f"-lo-{level}"], out[f"-hi-{level}"] = mean - z * sd, mean + z * sd
    return out


def add_fitted_model(
    frame: pd.DataFrame,
    df: pd.DataFrame,
    alias: str,
    horizon: int,
    kind: str,
    fit: Callable[[str, np.ndarray], dict[str, np.ndarray]],
    only: set[str] | None = None,
) -> pd.DataFrame:
    """statsforecast's wide output with a numpy model's columns (``alias``) added: per series and cutoff
    (backtest) or per series (forecast), ``fit(unique_id, history)`` on the history up to the cutoff;
    naive where the fit fails (statsforecast's fallback for its own models). Series outside ``only``
    (when given) keep nulls."""
    history = {uid: rows["y"].to_numpy(float) for uid, rows in df.groupby("unique_id", sort=False)}
    first = df.groupby("unique_id")["ds"].min()
    columns = {f"{alias}{suffix}": np.full(len(frame), np.nan) for suffix in ("", *_BOUND_SUFFIXES)}
    group_keys = ["unique_id", "cutoff"] if kind == "backtest" else ["unique_id"]
    for key, rows in frame.groupby(group_keys, sort=False):
        uid = key[0] if isinstance(key, tuple) else key
        if only is not None and uid not in only:
            continue
        y = history[uid]
        if kind == "backtest":
            y = y[: int(key[1]) - int(first[uid]) + 1]
        order = np.argsort(rows["ds"].to_numpy())
        try:
            fitted = fit(uid, y)
        except (np.linalg.LinAlgError, ValueError):
            fitted = naive_forecast(y, horizon)
        positions = frame.index.get_indexer(rows.index[order])
        for suffix, values in fitted.items():
            columns[f"{alias}{suffix}"][positions] = values[: len(rows)]
    return frame.assign(**columns)


def add_harmonic_regression(
    frame: pd.DataFrame, df: pd.DataFrame, model: HarmonicRegression, horizon: int, kind: str
) -> pd.DataFrame:
    """statsforecast's wide output with the harmonic regression's columns added (``add_fitted_model``)."""
    return add_fitted_model(
        frame, df, model.alias, horizon, kind, lambda _uid, y: harmonic_regression(y, horizon, model)
    )


def promoted_series(depth: dict[str, np.ndarray], before_backtest: dict[str, int], minimum: int) -> set[str]:
    """The pre-screen of the promotion candidate: series with at least ``minimum`` promoted periods
    (promo_depth > 0) among their first ``before_backtest`` periods (those before the first backtest
    window), so that every backtest fit has promotions to learn from."""
    return {uid for uid, values in depth.items() if int((values[: before_backtest[uid]] > 0).sum()) >= minimum}


def add_promo_regression(
    frame: pd.DataFrame,
    df: pd.DataFrame,
    model: PromoRegression,
    horizon: int,
    kind: str,
    depth: dict[str, np.ndarray],
    only: set[str],
) -> pd.DataFrame:
    """statsforecast's wide output with the promotion candidate's columns added for the series in
    ``only``; ``depth`` is each series' promo_depth from its first period to the end of the horizon."""

    def fit(uid: str, y: np.ndarray) -> dict[str, np.ndarray]:
        return promo_regression(y, depth[uid][: len(y) + horizon], horizon, model)

    return add_fitted_model(frame, df, model.alias, horizon, kind, fit, only)


def to_long(
    frame: pd.DataFrame,
    models: list[object],
    kind: str,
    last_index: pd.Series,
    *,
    combine: bool,
    outside_ensemble: frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """statsforecast's wide output (one column per model and bound) as one row per model and period,
    plus the ``ensemble`` rows when ``combine`` (of every model but seasonal naive and ``outside_ensemble``)."""
    if kind == "backtest":
        cutoffs = np.sort(frame["cutoff"].unique())
        window = np.searchsorted(cutoffs, frame["cutoff"].to_numpy()) + 1
        cutoff = frame["cutoff"].to_numpy()
        actual = frame["y"].to_numpy(float)
    else:
        window = np.zeros(len(frame), dtype=int)
        cutoff = frame["unique_id"].map(last_index).to_numpy()
        actual = np.full(len(frame), np.nan)
    parts = []
    for rank, fitted in enumerate(models, start=1):
        name = fitted.alias

        def column(suffix: str, name: str = name) -> np.ndarray:
            key = f"{name}{suffix}"
            values = frame[key].to_numpy(float) if key in frame else np.full(len(frame), np.nan)
            return np.clip(values, 0, None)

        parts.append(
            pd.DataFrame(
                {
                    "unique_id": frame["unique_id"].to_numpy(),
                    "kind": kind,
                    "method": name,
                    "candidate_rank": rank,
                    "window_index": window,
                    "cutoff_index": cutoff,
                    "period_index": frame["ds"].to_numpy(),
                    "step": frame["ds"].to_numpy() - cutoff,
                    "actual_units": actual,
                    "forecast_units": column(""),
                    **{
                        f"{side}_{level}": column(f"-{short}-{level}")
                        for level in LEVELS
                        for side, short in (("lower", "lo"), ("upper", "hi"))
                    },
                }
            )
        )
    long = pd.concat(parts, ignore_index=True)
    # statsforecast's fallback path can hand back the bounds in another column order: the 95%
    # interval always contains the 80% one, so sorting the four bounds restores their meaning
    bounds = ["lower_95", "lower_80", "upper_80", "upper_95"]
    complete_bounds = long[bounds].notna().all(axis=1).to_numpy()
    long.loc[complete_bounds, bounds] = np.sort(long.loc[complete_bounds, bounds].to_numpy(float), axis=1)
    members = long[~long["method"].isin({"seasonal_naive", *outside_ensemble})]
    if not combine or members["method"].nunique() < 2:
        return long
    # the combination: mean of the members' forecasts and of their bounds (quantile averaging),
    # where every member has a value (a member with a null makes the combination null there)
    keys = ["unique_id", "kind", "window_index", "cutoff_index", "period_index", "step", "actual_units"]
    values = ["forecast_units", "lower_80", "upper_80", "lower_95", "upper_95"]
    combined = members.groupby(keys, dropna=False)[values].mean().reset_index()
    complete = members.groupby(keys, dropna=False)["forecast_units"].count().to_numpy() == members["method"].nunique()
    combined.loc[~complete, values] = np.nan
    combined = combined.assign(method="ensemble", candidate_rank=len(models) + 1)
    return pd.concat([long, combined[long.columns]], ignore_index=True)


def conformal_factor(scores: np.ndarray | pd.Series, level: int) -> float:
    """The split-conformal quantile of nonconformity ``scores`` at ``level`` percent: the
    ceil((n + 1) * level / 100)-th smallest score (the largest when that exceeds n); 1 without scores."""
    scores = np.asarray(scores, dtype=float)
    scores = np.sort(scores[np.isfinite(scores)])
    if not len(scores):
        return 1.0
    rank = min(int(np.ceil((len(scores) + 1) * level / 100)), len(scores))
    return float(scores[rank - 1])


def interval_scores(frame: pd.DataFrame, level: int) -> np.ndarray:
    """How far each actual lies outside the forecast, in units of the model's own half-width on that
    side: (a - f) / (upper - f) above the forecast, (f - a) / (f - lower) below. 1 = on the bound;
    the interval scaled by c covers the actual exactly when its score is at most c. A zero half-width
    gives no score (nan) unless the actual equals the forecast (0)."""
    actual, forecast = frame["actual_units"].to_numpy(float), frame["forecast_units"].to_numpy(float)
    above = actual >= forecast
    gap = np.where(above, actual - forecast, forecast - actual)
    width = np.where(
        above, frame[f"upper_{level}"].to_numpy(float) - forecast, forecast - frame[f"lower_{level}"].to_numpy(float)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(width > 0, gap / width, np.where(gap == 0, 0.0, np.nan))
    return score


def calibrate(long: pd.DataFrame, origins: int) -> pd.DataFrame:
    """Scale every (series, method)'s bounds around its forecast by split-conformal factors from its own
    backtest: a factor per level, the conformal quantile of ``interval_scores``. Backtest windows get
    factors from the windows before the final one (the final window's coverage stays out of sample),
    the forecast ahead from every window. Without backtest scores (too_short) the factor is 1.
    Assumes the scaled errors of the calibration windows are exchangeable with those ahead (the
    series does not change its noise regime) and that the model's bounds have the right shape over
    the horizon (only their width is corrected)."""
    long = long.copy()
    for bound in BOUNDS:
        long[f"native_{bound}"] = long[bound]
    keys = ["unique_id", "method"]
    backtest = long[(long["kind"] == "backtest") & long["forecast_units"].notna()]
    for level in LEVELS:
        scored = backtest.assign(score=interval_scores(backtest, level))
        earlier = scored[scored["window_index"] < origins]
        factors = {
            kind: frame.groupby(keys)["score"].agg(conformal_factor, level=level)
            for kind, frame in (("backtest", earlier), ("forecast", scored))
        }
        scale = np.ones(len(long))
        for kind, factor in factors.items():
            rows = (long["kind"] == kind).to_numpy()
            index = pd.MultiIndex.from_frame(long.loc[rows, keys])
            scale[rows] = factor.reindex(index).fillna(1.0).to_numpy()
        forecast = long["forecast_units"].to_numpy(float)
        long[f"scale_{level}"] = scale
        long[f"lower_{level}"] = np.clip(
            forecast - scale * (forecast - long[f"lower_{level}"].to_numpy(float)), 0, None
        )
        long[f"upper_{level}"] = forecast + scale * (long[f"upper_{level}"].to_numpy(float) - forecast)
    # the 95% interval contains the 80% one, also when the 80% factor is the larger
    long["lower_95"] = np.fmin(long["lower_95"], long["lower_80"])
    long["upper_95"] = np.fmax(long["upper_95"], long["upper_80"])
    return long


def candidate_forecasts(
    series: pd.DataFrame,
    profile: pd.DataFrame,
    *,
    season: int,
    horizon: int,
    origins: int,
    long_season: int,
    n_jobs: int = 0,
    harmonic: bool = False,
    promotions: bool = False,
    ahead_depth: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Backtest and forecast rows (COLUMNS) of every candidate of every series; one statsforecast run per status.

    ``n_jobs`` 0 means automatic: every core from 200 series on, else one process (starting worker
    processes costs more than a small sample's fits). ``promotions``: regular series with promotions
    in their history also get ``promo_regression``, whose regressor is ``promo_depth`` of ``series``
    (history) and of ``ahead_depth`` (sku, region, period_index, promo_depth: the plan ahead).
    """
    from statsforecast import StatsForecast
    from statsforecast.models import Naive

    keys = profile[["sku", "region"]].reset_index(drop=True)
    keys["unique_id"] = [f"s{i:06d}" for i in range(len(keys))]
    data = series.merge(keys, on=["sku", "region"]).merge(profile[["sku", "region", "status"]], on=["sku", "region"])
    if n_jobs <= 0:
        n_jobs = (os.cpu_count() or 1) if len(keys) >= 200 else 1
    frames = []
    for status, group in data.groupby("status", sort=True):
        models = candidates(str(status), season, horizon, long_season)
        if not models:
            continue
        # the dynamic harmonic regression joins the long-season regular candidates when lab.yaml asks for it
        extra = [HarmonicRegression(season)] if harmonic and status == "regular" and season > long_season else []
        df = group.rename(columns={"period_index": "ds", "units": "y"})[["unique_id", "ds", "y"]]
        df = df.astype({"ds": "int64", "y": "float64"}).sort_values(["unique_id", "ds"])
        last_index = df.groupby("unique_id")["ds"].max()
        promo, depth, screened = None, {}, set()
        if promotions and status == "regular":
            promo = PromoRegression(season)
            depth = series_depth(group, ahead_depth, keys)
            before = {uid: int(n) - origins * horizon for uid, n in df.groupby("unique_id").size().items()}
            screened = promoted_series(depth, before, promo.min_promo_periods)
        if promo is not None and screened:
            extra = [*extra, promo]
        outside = frozenset({promo.alias}) if promo is not None else frozenset()
        engine = StatsForecast(models=models, freq=1, n_jobs=n_jobs, fallback_model=Naive())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "history shorter than season_length": those points stay null
            parts = []
            if status != "too_short":
                backtest = engine.cross_validation(
                    df=df, h=horizon, n_windows=origins, step_size=horizon, level=list(LEVELS)
                )
                backtest = add_numpy_models(backtest, df, extra, horizon, "backtest", depth, screened)
                parts.append(
                    to_long(backtest, models + extra, "backtest", last_index, combine=True, outside_ensemble=outside)
                )
            ahead = engine.forecast(df=df, h=horizon, level=list(LEVELS))
            ahead = add_numpy_models(ahead, df, extra, horizon, "forecast", depth, screened)
        parts.append(
            to_long(
                ahead, models + extra, "forecast", last_index, combine=status != "too_short", outside_ensemble=outside
            )
        )
        long = pd.concat(parts, ignore_index=True)
        if promo is not None:  # the promotion candidate exists only for the series that passed the pre-screen
            long = long[(long["method"] != promo.alias) | long["unique_id"].isin(screened)]
        frames.append(calibrate(long.reset_index(drop=True), origins))
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(frames, ignore_index=True).merge(keys, on="unique_id")
    return out[COLUMNS].sort_values(["sku", "region", "kind", "method", "period_index"], ignore_index=True)


def series_depth(group: pd.DataFrame, ahead_depth: pd.DataFrame | None, keys: pd.DataFrame) -> dict[str, np.ndarray]:
    """unique_id -> promo_depth per period from the series' first period to the end of the horizon
    (history from int_demand_series, the plan ahead from int_forecast_periods; 0 where unknown)."""
    past = group[["unique_id", "period_index", "promo_depth"]]
    if ahead_depth is not None and len(ahead_depth):
        future = ahead_depth.merge(keys, on=["sku", "region"])[["unique_id", "period_index", "promo_depth"]]
        past = pd.concat([past, future[future["unique_id"].isin(past["unique_id"].unique())]], ignore_index=True)
    past = past.astype({"period_index": "int64", "promo_depth": "float64"}).sort_values(["unique_id", "period_index"])
    return {uid: rows["promo_depth"].fillna(0.0).to_numpy() for uid, rows in past.groupby("unique_id", sort=False)}


def add_numpy_models(
    frame: pd.DataFrame,
    df: pd.DataFrame,
    members: list[object],
    horizon: int,
    kind: str,
    depth: dict[str, np.ndarray],
    screened: set[str],
) -> pd.DataFrame:
    """statsforecast's wide output with the columns of the numpy candidates (harmonic regression,
    promotion regression) added."""
    frame = frame.reset_index(drop=True)
    for member in members:
        if isinstance(member, PromoRegression):
            frame = add_promo_regression(frame, df, member, horizon, kind, depth, screened)
        else:
            frame = add_harmonic_regression(frame, df, member, horizon, kind)
    return frame


def model(dbt, session):
    dbt.config(materialized="table")
    settings = {
        "season": int(dbt.config.get("season")),
        "horizon": int(dbt.config.get("horizon")),
        "origins": int(dbt.config.get("origins")),
        "long_season": int(dbt.config.get("long_season")),
        "n_jobs": int(dbt.config.get("n_jobs")),
        "harmonic": str(dbt.config.get("harmonic")).strip().lower() == "true",
        "promotions": str(dbt.config.get("promotions")).strip().lower() == "true",
    }
    series = dbt.ref("int_demand_series").df()
    profile = dbt.ref("int_series_profile").df()
    ahead = dbt.ref("int_forecast_periods").df()[["sku", "region", "period_index", "promo_depth"]]
    return candidate_forecasts(series, profile, ahead_depth=ahead, **settings)
