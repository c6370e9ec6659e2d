"""Independent computations for lab 2's tests (pandas + numpy, not the lab's SQL).

From the raw CSVs alone: each series' calendar (its first period to the last period of the data,
missing periods zero). From the candidates' forecasts (silver.int_candidate_forecasts): the model
selection (lowest MAE before the final window) and WAPE, MASE, bias and interval coverage on the
final window, per series and overall, using only points where both values exist.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import yaml
from buildcpg_shared.testing import copy_lab, run_lab_dir

Key = tuple[str, str | None, str | None, str]  # (level, sku or status, region, method)
METRICS = ("n_points", "wape", "wape_vs_naive", "mase", "bias", "coverage_80", "coverage_95")
_OFFSETS = {"daily": "D", "weekly": "W", "monthly": "M", "quarterly": "Q"}


def period_start(dates: pd.Series, frequency: str) -> pd.Series:
    """The start of the period each date falls in (Monday, 1st of the month or quarter)."""
    return pd.to_datetime(dates).dt.to_period(_OFFSETS[frequency] if frequency != "weekly" else "W-SUN").dt.start_time


def shift(first: pd.Timestamp, periods: int, frequency: str) -> pd.Timestamp:
    """``first`` moved by ``periods`` periods."""
    if frequency == "daily":
        return first + pd.Timedelta(days=periods)
    if frequency == "weekly":
        return first + pd.Timedelta(weeks=periods)
    return first + pd.DateOffset(months=periods * (3 if frequency == "quarterly" else 1))


def series_from_raw(raw_dir: Path, frequency: str) -> pd.DataFrame:
    """sku, region, period_start, period_index, units: every series on its own zero-filled calendar."""
    raw = pd.concat([pd.read_csv(p) for p in sorted(raw_dir.glob("demand*.csv"))], ignore_index=True)
    raw["period_start"] = period_start(raw["period_start"], frequency)
    sums = raw.groupby(["sku", "region", "period_start"], as_index=False)["units"].sum()
    first, last = sums["period_start"].min(), sums["period_start"].max()
    periods = []
    index = 0
    while (date := shift(first, index, frequency)) <= last:
        periods.append((index, date))
        index += 1
    calendar = pd.DataFrame(periods, columns=["period_index", "period_start"])
    frames = []
    for (sku, region), rows in sums.groupby(["sku", "region"]):
        own = calendar[calendar["period_start"] >= rows["period_start"].min()]
        merged = own.merge(rows[["period_start", "units"]], on="period_start", how="left").fillna({"units": 0.0})
        frames.append(merged.assign(sku=sku, region=region))
    return pd.concat(frames, ignore_index=True)


def read_table(db: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


def expected_selection(
    candidates: pd.DataFrame, origins: int, margin: float = 0.05
) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], bool]]:
    """(sku, region) → the shipped candidate, and whether the baseline guard kept seasonal naive.

    The best candidate has the lowest MAE on the windows before the final one (ties: lower rank); it
    ships only if its MAE is at most (1 - margin) × seasonal naive's over the points both forecast."""
    earlier = candidates[(candidates["kind"] == "backtest") & (candidates["window_index"] < origins)]
    earlier = earlier.dropna(subset=["forecast_units"])
    earlier = earlier.assign(error=(earlier["actual_units"] - earlier["forecast_units"]).abs())
    mae = (
        earlier.groupby(["sku", "region", "method", "candidate_rank"], as_index=False)["error"]
        .mean()
        .sort_values(["sku", "region", "error", "candidate_rank"])
    )
    naive = earlier[earlier["method"] == "seasonal_naive"].set_index(["sku", "region", "window_index", "period_index"])
    chosen, kept = {}, {}
    for r in mae.drop_duplicates(["sku", "region"]).itertuples():
        key = (r.sku, r.region)
        kept[key] = False
        if r.method != "seasonal_naive":
            own = earlier[(earlier["sku"] == r.sku) & (earlier["region"] == r.region) & (earlier["method"] == r.method)]
            own = own.set_index(["sku", "region", "window_index", "period_index"])["error"]
            both = own.index.intersection(naive.index)
            if len(both):
                kept[key] = not own.loc[both].mean() <= (1 - margin) * naive.loc[both, "error"].mean()
        chosen[key] = "seasonal_naive" if kept[key] else r.method
    return chosen, kept


def _metrics(points: pd.DataFrame) -> dict[str, float]:
    both = points.dropna(subset=["actual", "forecast_units"])
    actual, forecast = both["actual"].to_numpy(float), both["forecast_units"].to_numpy(float)
    total = actual.sum()
    scaled = (np.abs(actual - forecast) / both["scale"].replace(0, np.nan)).dropna()
    out: dict[str, float] = {
        "n_points": float(len(both)),
        "wape": np.abs(actual - forecast).sum() / total if total else np.nan,
        "mase": scaled.mean() if len(scaled) else np.nan,
        "bias": (forecast - actual).sum() / total if total else np.nan,
    }
    for level in (80, 95):
        has = both.dropna(subset=[f"lower_{level}", f"upper_{level}"])
        inside = (has["actual"] >= has[f"lower_{level}"]) & (has["actual"] <= has[f"upper_{level}"])
        out[f"coverage_{level}"] = inside.mean() if len(has) else np.nan
    return out


def expected_accuracy(
    series: pd.DataFrame,
    candidates: pd.DataFrame,
    chosen: dict[tuple[str, str], str],
    season: int,
    horizon: int,
    origins: int,
    status: dict[tuple[str, str], str],
) -> dict[Key, dict[str, float]]:
    """(level, sku, region, method) → metrics on the final window, actuals taken from ``series`` (the raw CSVs)."""
    final = candidates[(candidates["kind"] == "backtest") & (candidates["window_index"] == origins)]
    final = final.merge(
        series[["sku", "region", "period_index", "units"]].rename(columns={"units": "actual"}),
        on=["sku", "region", "period_index"],
        how="left",
    )
    cutoff = series["period_index"].max() - horizon
    ordered = series.sort_values(["sku", "region", "period_index"])
    lagged = ordered.assign(error=(ordered["units"] - ordered.groupby(["sku", "region"])["units"].shift(season)).abs())
    scale = lagged[lagged["period_index"] <= cutoff].groupby(["sku", "region"])["error"].mean().rename("scale")
    final = final.merge(scale.reset_index(), on=["sku", "region"], how="left")
    final["status"] = [status[(r.sku, r.region)] for r in final.itertuples()]
    model = final[[chosen.get((r.sku, r.region)) == r.method for r in final.itertuples()]].assign(method="model")
    points = pd.concat([final, model], ignore_index=True)
    points["series"] = points["sku"] + "|" + points["region"]
    out: dict[Key, dict[str, float]] = {}
    for (sku, region, method), rows in points.groupby(["sku", "region", "method"]):
        out[("series", sku, region, method)] = _metrics(rows)
    for (state, method), rows in points.groupby(["status", "method"]):
        out[("status", state, None, method)] = _metrics(rows)
    every = points["series"].nunique()
    for method, rows in points.groupby("method"):
        if rows["series"].nunique() == every:  # pooled only over the same series for every method
            out[("overall", None, None, method)] = _metrics(rows)
    for key, values in out.items():
        naive = out.get((*key[:3], "seasonal_naive"), {}).get("wape", np.nan)
        values["wape_vs_naive"] = values["wape"] / naive if naive else np.nan
    return out


def gold_accuracy(db: Path) -> dict[Key, dict[str, float]]:
    rows = read_table(
        db,
        f"select level, coalesce(sku, status) as sku, region, method, {', '.join(METRICS)} from gold.forecast_accuracy",
    )
    out: dict[Key, dict[str, float]] = {}
    for r in rows.to_dict("records"):
        sku = r["sku"] if isinstance(r["sku"], str) else None
        region = r["region"] if isinstance(r["region"], str) else None
        out[(r["level"], sku, region, r["method"])] = {m: np.nan if pd.isna(r[m]) else float(r[m]) for m in METRICS}
    return out


def assert_gold_matches(db: Path, raw_dir: Path, forecast: dict[str, Any]) -> dict[Key, dict[str, float]]:
    """Gold forecast_accuracy and the selection equal the independent computation; returns gold."""
    frequency = forecast["frequency"]
    season = forecast.get("season_length") or {"daily": 7, "weekly": 52, "monthly": 12, "quarterly": 4}[frequency]
    horizon, origins = forecast["horizon"], forecast["origins"]
    series = series_from_raw(raw_dir, frequency)
    candidates = read_table(db, "select * from silver.int_candidate_forecasts")
    backtest = candidates[candidates["kind"] == "backtest"].merge(
        series[["sku", "region", "period_index", "units"]], on=["sku", "region", "period_index"], how="left"
    )
    # the lab's actuals are the raw CSVs' (gaps zero-filled), point for point
    np.testing.assert_allclose(backtest["actual_units"], backtest["units"])
    assert_calibration_matches(db, origins)
    chosen, kept = expected_selection(candidates, origins, forecast.get("baseline_margin", 0.05))
    selection = read_table(
        db, "select sku, region, status, model as chosen_method, guard_kept_baseline from gold.forecast_series"
    )
    lab_chosen = {(r.sku, r.region): r.chosen_method for r in selection.itertuples() if (r.sku, r.region) in chosen}
    assert lab_chosen == chosen
    lab_kept = {
        (r.sku, r.region): bool(r.guard_kept_baseline) for r in selection.itertuples() if (r.sku, r.region) in kept
    }
    assert lab_kept == kept
    status = {(r.sku, r.region): r.status for r in selection.itertuples()}
    expected = expected_accuracy(series, candidates, chosen, season, horizon, origins, status)
    frequencies = read_table(db, "select distinct frequency from gold.forecast_accuracy")["frequency"].tolist()
    assert frequencies == [frequency]
    gold = gold_accuracy(db)
    assert set(gold) == set(expected)
    for key, values in expected.items():
        for metric, value in values.items():
            got = gold[key][metric]
            assert (np.isnan(value) and np.isnan(got)) or got == pytest_approx(value), (key, metric, got, value)
    return gold


def expected_calibration(candidates: pd.DataFrame, origins: int) -> pd.DataFrame:
    """The calibrated bounds, recomputed from the models' native bounds one (series, method) at a time.

    Per level L: each backtest point's score is the distance from forecast to actual over the native
    half-width on the actual's side (0 when the actual equals the forecast, none when the width is 0);
    the factor is the ceil((n + 1) L)-th smallest of the n scores (the largest if that is past n),
    1 without scores; windows before the final one calibrate the backtest, all windows the forecast.
    Bounds become forecast ∓ factor × native half-width, the lower one at least 0, the 95% interval
    widened to hold the 80% one."""
    out = candidates.copy()
    for _, rows in candidates.groupby(["sku", "region", "method"]):
        for level in (80, 95):
            factor = {}
            for kind, windows in (("backtest", range(1, origins)), ("forecast", range(1, origins + 1))):
                scores = []
                for r in rows[(rows["kind"] == "backtest") & rows["window_index"].isin(windows)].itertuples():
                    a, f = r.actual_units, r.forecast_units
                    if pd.isna(f):
                        continue
                    width = (
                        (getattr(r, f"native_upper_{level}") - f)
                        if a >= f
                        else (f - getattr(r, f"native_lower_{level}"))
                    )
                    gap = abs(a - f)
                    if width > 0:
                        scores.append(gap / width)
                    elif gap == 0:
                        scores.append(0.0)
                scores.sort()
                if scores:
                    factor[kind] = scores[min(int(np.ceil((len(scores) + 1) * level / 100)), len(scores)) - 1]
                else:
                    factor[kind] = 1.0
            for kind in ("backtest", "forecast"):
                at = rows.index[rows["kind"] == kind]
                f = rows.loc[at, "forecast_units"]
                out.loc[at, f"scale_{level}"] = factor[kind]
                lower = f - factor[kind] * (f - rows.loc[at, f"native_lower_{level}"])
                out.loc[at, f"lower_{level}"] = lower.clip(lower=0)
                out.loc[at, f"upper_{level}"] = f + factor[kind] * (rows.loc[at, f"native_upper_{level}"] - f)
    out["lower_95"] = np.fmin(out["lower_95"], out["lower_80"])
    out["upper_95"] = np.fmax(out["upper_95"], out["upper_80"])
    return out


def assert_calibration_matches(db: Path, origins: int) -> pd.DataFrame:
    """silver.int_candidate_forecasts' bounds equal expected_calibration of its native bounds."""
    candidates = read_table(
        db, "select * from silver.int_candidate_forecasts order by sku, region, kind, method, period_index"
    )
    want = expected_calibration(candidates, origins)
    for column in ("scale_80", "scale_95", "lower_80", "upper_80", "lower_95", "upper_95"):
        np.testing.assert_allclose(candidates[column], want[column], rtol=1e-9, atol=1e-9, err_msg=column)
    return candidates


def pytest_approx(value: float) -> Any:
    import pytest

    return pytest.approx(value, rel=1e-9, abs=1e-9)


def run_with_series(
    lab_dir: Path,
    dest: Path,
    demand: pd.DataFrame,
    forecast: dict[str, Any],
    extra_files: dict[str, str] | None = None,
) -> tuple[Any, Any]:
    """Run a copy of the lab on other series: data/raw replaced, only lab.yaml's forecast block changed."""
    lab_copy = copy_lab(lab_dir, dest)
    raw = lab_copy / "data" / "raw"
    shutil.rmtree(raw)
    raw.mkdir()
    demand.to_csv(raw / "demand.csv", index=False)
    for name, text in (extra_files or {}).items():
        (raw / name).write_text(text, encoding="utf-8")
    contract = yaml.safe_load((lab_copy / "lab.yaml").read_text(encoding="utf-8"))
    contract["forecast"] = forecast
    (lab_copy / "lab.yaml").write_text(yaml.safe_dump(contract, sort_keys=False), encoding="utf-8")
    return run_lab_dir(lab_copy)
