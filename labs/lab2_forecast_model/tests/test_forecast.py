"""Lab 2's gold tables against an independent computation from the raw CSVs.

The expected values are derived here from data/raw with csv + numpy, not from the lab's tables:
the promotion and holiday flags from the plan files, the model refitted per series and origin by
ordinary least squares with ``numpy.linalg.lstsq`` (the lab uses statsmodels), the seasonal-naive
values as the units 52 weeks earlier, and WAPE, MAPE and bias by their textbook formulas.

Fixtures ``lab_db`` and ``raw_dir`` come from conftest.py (one pipeline run per session).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections import defaultdict
from pathlib import Path

import duckdb
import numpy as np
import pytest

HORIZON = 12
ORIGINS = 4
SEASON_LAG = 52


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _design(t: np.ndarray, promo: np.ndarray, holiday: np.ndarray) -> np.ndarray:
    angle = 2 * math.pi * t / 52.0
    return np.column_stack(
        [np.ones_like(t), t, np.sin(angle), np.cos(angle), np.sin(2 * angle), np.cos(2 * angle), promo, holiday]
    )


def _fit_mean(units: np.ndarray, x: np.ndarray, x_ahead: np.ndarray) -> np.ndarray:
    """OLS on log(units), log-normal mean exp(mu + s²/2) with s² = RSS / (n - p)."""
    y = np.log(units)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    scale = float(resid @ resid) / (len(y) - x.shape[1])
    return np.exp(x_ahead @ beta + scale / 2)


@pytest.fixture(scope="module")
def expected(raw_dir: Path) -> dict[str, object]:
    """Backtest points and forecasts per series, computed from the CSV files alone."""
    sales: dict[tuple[str, str], dict[dt.date, int]] = defaultdict(dict)
    for row in _read(raw_dir / "weekly_sales.csv"):
        sales[(row["sku"], row["region"])][dt.date.fromisoformat(row["week_start"])] = int(row["units"])
    holidays = {dt.date.fromisoformat(r["week_start"]) for r in _read(raw_dir / "holidays.csv")}
    promos = _read(raw_dir / "promotions.csv")
    points: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    forecasts: dict[tuple[str, str, dt.date], float] = {}
    for key, by_week in sales.items():
        weeks = sorted(by_week)
        last = weeks[-1]
        all_weeks = weeks + [last + dt.timedelta(weeks=h) for h in range(1, HORIZON + 1)]
        t = np.arange(len(all_weeks), dtype=float)
        promo = np.array(
            [
                any(
                    p["sku"] == key[0]
                    and p["region"] == key[1]
                    and dt.date.fromisoformat(p["start_week"]) <= w <= dt.date.fromisoformat(p["end_week"])
                    for p in promos
                )
                for w in all_weeks
            ],
            dtype=float,
        )
        holiday = np.array([w in holidays for w in all_weeks], dtype=float)
        x = _design(t, promo, holiday)
        units = np.array([by_week[w] for w in weeks], dtype=float)
        n = len(weeks)
        series_points = []
        for k in range(ORIGINS, 0, -1):
            cut = n - k * HORIZON
            model = _fit_mean(units[:cut], x[:cut], x[cut : cut + HORIZON])
            naive = units[cut - SEASON_LAG : cut - SEASON_LAG + HORIZON]
            series_points += list(zip(units[cut : cut + HORIZON], model, naive, strict=True))
        points[key] = series_points
        for week, value in zip(all_weeks[n:], _fit_mean(units, x[:n], x[n:]), strict=True):
            forecasts[(key[0], key[1], week)] = float(value)
    return {"points": points, "forecasts": forecasts}


def _metrics(pairs: list[tuple[float, float]]) -> tuple[float, float, float]:
    actual = sum(a for a, _ in pairs)
    wape = sum(abs(a - f) for a, f in pairs) / actual
    mape = sum(abs(a - f) / a for a, f in pairs if a > 0) / sum(1 for a, _ in pairs if a > 0)
    bias = sum(f - a for a, f in pairs) / actual
    return wape, mape, bias


def _accuracy(lab_db: Path) -> dict[tuple[str, str | None, str | None, str], tuple[float, float, float, int]]:
    with duckdb.connect(str(lab_db), read_only=True) as con:
        rows = con.execute(
            "select level, sku, region, method, wape, mape, bias, n_points from gold.forecast_accuracy"
        ).fetchall()
    return {(r[0], r[1], r[2], r[3]): (r[4], r[5], r[6], r[7]) for r in rows}


def test_accuracy_per_series_and_overall_matches_independent_computation(
    lab_db: Path, expected: dict[str, object]
) -> None:
    gold = _accuracy(lab_db)
    points: dict[tuple[str, str], list[tuple[float, float, float]]] = expected["points"]  # type: ignore[assignment]
    assert len(gold) == 2 * (len(points) + 1)
    everything: dict[str, list[tuple[float, float]]] = {"model": [], "seasonal_naive": []}
    for (sku, region), series in points.items():
        for method, column in (("model", 1), ("seasonal_naive", 2)):
            pairs = [(p[0], p[column]) for p in series]
            everything[method] += pairs
            wape, mape, bias, n = gold[("series", sku, region, method)]
            assert n == len(pairs) == ORIGINS * HORIZON
            assert (wape, mape, bias) == pytest.approx(_metrics(pairs), rel=1e-6, abs=1e-9)
    for method, pairs in everything.items():
        wape, mape, bias, n = gold[("overall", None, None, method)]
        assert n == len(pairs)
        assert (wape, mape, bias) == pytest.approx(_metrics(pairs), rel=1e-6, abs=1e-9)


def test_model_beats_seasonal_naive(lab_db: Path) -> None:
    gold = _accuracy(lab_db)
    model, naive = gold[("overall", None, None, "model")], gold[("overall", None, None, "seasonal_naive")]
    assert model[0] < naive[0], f"model WAPE {model[0]:.3f} not below seasonal-naive {naive[0]:.3f}"
    assert abs(model[2]) < abs(naive[2]) + 0.01
    series = [k for k in gold if k[0] == "series" and k[3] == "model"]
    wins = sum(gold[k][0] < gold[("series", k[1], k[2], "seasonal_naive")][0] for k in series)
    assert wins >= 0.8 * len(series), f"model wins only {wins} of {len(series)} series"


def test_forecast_next_12_weeks_with_intervals(lab_db: Path, expected: dict[str, object]) -> None:
    forecasts: dict[tuple[str, str, dt.date], float] = expected["forecasts"]  # type: ignore[assignment]
    with duckdb.connect(str(lab_db), read_only=True) as con:
        rows = con.execute(
            "select sku, region, week_start, horizon, forecast_units, lower_80, upper_80 from gold.demand_forecast"
        ).fetchall()
    assert len(rows) == len(forecasts)
    assert {r[3] for r in rows} == set(range(1, HORIZON + 1))
    for sku, region, week, _, value, lower, upper in rows:
        assert value == pytest.approx(forecasts[(sku, region, week)], abs=0.006)
        assert lower < value < upper


def test_this_venv_has_statsmodels_but_not_lab3s_scikit_learn() -> None:
    """Each lab's venv holds its own dependencies only (this suite runs in lab 2's venv or tox env)."""
    import importlib.util

    assert importlib.util.find_spec("statsmodels") is not None
    assert importlib.util.find_spec("sklearn") is None
