"""Lab 2 on its shipped sample: gold against an independent computation and the generator's truth.

Fixtures ``lab_db`` and ``raw_dir`` come from the buildcpg pytest plugin (one pipeline run per session).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
import yaml
from lab2_expected import assert_gold_matches, read_table, series_from_raw

LAB_DIR = Path(__file__).resolve().parents[1]
INTERMITTENT_METHODS = {"croston_sba", "adida", "imapa", "tsb"}


@pytest.fixture(scope="module")
def forecast_block(lab_dir: Path) -> dict[str, object]:
    return yaml.safe_load((lab_dir / "lab.yaml").read_text(encoding="utf-8"))["forecast"]


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    """tools/generate_demand.py, whose constants name the sample's special series."""
    path = LAB_DIR.parents[1] / "tools" / "generate_demand.py"
    spec = importlib.util.spec_from_file_location("generate_demand", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("generate_demand", module)
    spec.loader.exec_module(module)
    return module


def test_accuracy_and_selection_match_an_independent_computation(
    lab_db: Path, raw_dir: Path, forecast_block: dict[str, object]
) -> None:
    gold = assert_gold_matches(lab_db, raw_dir, forecast_block)
    assert {"model", "seasonal_naive", "dynamic_theta", "mstl_auto_ets", "croston_sba"} <= {k[3] for k in gold}


def test_shipped_model_beats_seasonal_naive_on_the_final_window(lab_db: Path) -> None:
    overall = read_table(lab_db, "select method, wape from gold.forecast_accuracy where level = 'overall'")
    wape = dict(zip(overall["method"], overall["wape"], strict=True))
    assert wape["model"] < wape["seasonal_naive"], wape


def test_every_series_is_forecast_or_reported_with_its_reason(lab_db: Path, raw_dir: Path) -> None:
    raw = pd.read_csv(raw_dir / "demand.csv")
    series = read_table(lab_db, "select * from gold.forecast_series")
    assert set(zip(series["sku"], series["region"], strict=True)) == set(zip(raw["sku"], raw["region"], strict=True))
    assert series["reason"].str.len().min() > 0
    forecast = read_table(lab_db, "select * from gold.demand_forecast")
    assert len(forecast) == 12 * len(series)
    live = forecast[forecast["status"] != "discontinued"]
    assert live["forecast_units"].notna().all() and (live["forecast_units"] >= 0).all()


def test_generator_truth_special_series(lab_db: Path, raw_dir: Path, generator: ModuleType) -> None:
    """The generator's intermittent, launched, discontinued and short series get the policy they need."""
    series = read_table(lab_db, "select * from gold.forecast_series").set_index("sku")
    region = generator.SPECIAL_REGION
    assert set(series.loc[generator.INTERMITTENT_SKUS, "region"]) == {region}
    for sku in generator.INTERMITTENT_SKUS:
        # flagged, and only intermittent methods or the baseline to choose from
        assert series.loc[sku, "status"] == "intermittent", series.loc[sku, "reason"]
        assert series.loc[sku, "model"] in INTERMITTENT_METHODS | {"seasonal_naive"}
        assert series.loc[sku, "zero_share"] > 0.5
    assert series.loc[generator.DISCONTINUED_SKU, "status"] == "discontinued"
    assert series.loc[generator.LAUNCH_SKU, "status"] == "too_short"
    assert series.loc[generator.SHORT_SKU, "status"] == "short_history"
    forecast = read_table(lab_db, "select * from gold.demand_forecast").set_index("sku")
    assert (forecast.loc[generator.DISCONTINUED_SKU, "forecast_units"] == 0).all()
    assert forecast.loc[generator.LAUNCH_SKU, "forecast_units"].notna().all()
    # every series starts on its own first period; the generator's lost weeks are filled, not dropped
    expected = series_from_raw(raw_dir, "weekly").groupby(["sku", "region"])["period_start"].min()
    first = pd.to_datetime(series.reset_index().set_index(["sku", "region"])["first_period"])
    assert first.sort_index().to_dict() == expected.sort_index().to_dict()
    assert series.loc[generator.LAUNCH_SKU, "first_period"] > series.loc["SKU-0001", "first_period"].min()
    assert series["n_filled"].loc["SKU-0001"].max() == 3


def test_this_venv_has_statsforecast_but_not_lab3s_scikit_learn() -> None:
    """Each lab's venv holds its own dependencies only (this suite runs in lab 2's venv or tox env)."""
    assert importlib.util.find_spec("statsforecast") is not None
    assert importlib.util.find_spec("sklearn") is None


def test_calibrated_intervals_cover_what_they_claim_on_the_sample(lab_db: Path) -> None:
    """The shipped model's intervals, calibrated on its own earlier backtest windows, cover close to
    their level on the final window the calibration never saw (pooled over the sample's series)."""
    row = read_table(
        lab_db,
        "select coverage_80, coverage_95, n_points, frequency from gold.forecast_accuracy"
        " where level = 'overall' and method = 'model'",
    ).iloc[0]
    print(f"\n[lab2] sample final window: coverage_80 {row.coverage_80:.3f}, coverage_95 {row.coverage_95:.3f}")
    assert row.frequency == "weekly"
    assert 0.88 <= row.coverage_95 <= 0.99, row
    assert 0.70 <= row.coverage_80 <= 0.90, row


@pytest.fixture(scope="module")
def candidates_module() -> ModuleType:
    """int_candidate_forecasts.py loaded as plain Python (numpy, pandas, scipy)."""
    path = LAB_DIR / "dbt" / "models" / "intermediate" / "int_candidate_forecasts.py"
    spec = importlib.util.spec_from_file_location("int_candidate_forecasts", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_harmonic_regression_chooses_fourier_terms_by_aicc(candidates_module: ModuleType) -> None:
    """On a weekly series with a known yearly shape (harmonics 1 and 3) and AR(1) noise, the dynamic
    harmonic regression picks the same K and trend as a statsmodels OLS search by AICc, with the same
    coefficients, and forecasts the true shape 26 weeks ahead far better than seasonal naive."""
    import numpy as np
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    n, h, season = 156, 26, 52
    t = np.arange(n + h)
    truth = 100 + 20 * np.sin(2 * np.pi * t / season) + 8 * np.cos(2 * np.pi * 3 * t / season)
    noise = np.zeros(n)
    for i in range(1, n):
        noise[i] = 0.5 * noise[i - 1] + rng.normal(0, 3)
    y = truth[:n] + noise
    model = candidates_module.HarmonicRegression(season)
    _, cols, beta = candidates_module.select_harmonics(y, h, model)
    best = None
    for k in range(1, 11):
        for trend in (False, True):
            x = [np.ones(n)] + ([t[:n] / n] if trend else [])
            for j in range(1, k + 1):
                x += [np.sin(2 * np.pi * j * t[:n] / season), np.cos(2 * np.pi * j * t[:n] / season)]
            fit = sm.OLS(y, np.column_stack(x)).fit()
            params = len(x) + 1
            aicc = -2 * fit.llf + 2 * params + 2 * params * (params + 1) / (n - params - 1)
            if best is None or aicc < best[0]:
                best = (aicc, k, trend, fit.params)
    _, k, trend, params = best
    assert (1 in cols) == trend and (len(cols) - 1 - trend) // 2 == k and k >= 3
    np.testing.assert_allclose(beta, params, rtol=1e-8)
    ahead = candidates_module.harmonic_regression(y, h, model)
    dhr_error = np.abs(ahead[""] - truth[n:]).sum()
    naive_error = np.abs(y[n - season : n - season + h] - truth[n:]).sum()
    assert dhr_error / truth[n:].sum() < 0.03 and dhr_error < 0.5 * naive_error
    assert (ahead["-lo-95"] < ahead["-lo-80"]).all() and (ahead["-hi-80"] < ahead["-hi-95"]).all()


def test_harmonic_regression_candidate_end_to_end(lab_dir: Path, raw_dir: Path, tmp_path: Path) -> None:
    """forecast.harmonic_regression: true adds `dhr` to the weekly regular series' candidates (and to the
    ensemble); gold, the selection and the calibration still equal the independent computation."""
    from lab2_expected import run_with_series

    block = yaml.safe_load((lab_dir / "lab.yaml").read_text(encoding="utf-8"))["forecast"]
    block = {**block, "harmonic_regression": True}
    extra = {p.name: p.read_text(encoding="utf-8") for p in raw_dir.glob("*.csv") if p.name != "demand.csv"}
    lab, report = run_with_series(lab_dir, tmp_path, pd.read_csv(raw_dir / "demand.csv"), block, extra)
    assert report.ok, report.error
    db = lab.paths.database()
    assert_gold_matches(db, lab.paths.raw_dir, block)
    rows = read_table(
        db,
        "select c.kind, count(distinct c.sku || c.region) as n from silver.int_candidate_forecasts c"
        " join gold.forecast_series s using (sku, region)"
        " where c.method = 'dhr' and s.status = 'regular' and c.forecast_units is not null group by c.kind",
    )
    regular = read_table(db, "select count(*) as n from gold.forecast_series where status = 'regular'")["n"].iloc[0]
    assert dict(zip(rows["kind"], rows["n"], strict=True)) == {"backtest": regular, "forecast": regular}


def test_baseline_guard_keeps_seasonal_naive_below_the_margin(lab_dir: Path, raw_dir: Path, tmp_path: Path) -> None:
    """With forecast.baseline_margin 0.3 a candidate must beat seasonal naive's selection MAE by 30% to
    ship: the guard keeps the baseline on some series (gold says which and what would have shipped),
    and the selection still equals the independent computation with that margin."""
    from lab2_expected import run_with_series

    block = {**yaml.safe_load((lab_dir / "lab.yaml").read_text(encoding="utf-8"))["forecast"], "baseline_margin": 0.3}
    extra = {p.name: p.read_text(encoding="utf-8") for p in raw_dir.glob("*.csv") if p.name != "demand.csv"}
    lab, report = run_with_series(lab_dir, tmp_path, pd.read_csv(raw_dir / "demand.csv"), block, extra)
    assert report.ok, report.error
    assert_gold_matches(lab.paths.database(), lab.paths.raw_dir, block)
    series = read_table(lab.paths.database(), "select * from gold.forecast_series")
    kept = series[series["guard_kept_baseline"].fillna(False).astype(bool)]
    assert len(kept) >= 1, series[["sku", "region", "model", "best_mae_vs_baseline"]]
    assert (kept["model"] == "seasonal_naive").all() and (kept["best_candidate"] != "seasonal_naive").all()
    assert (kept["best_mae_vs_baseline"] > 0.7).all()
    shipped = series[series["guard_kept_baseline"].eq(False) & series["best_candidate"].ne("seasonal_naive")]
    assert (shipped["best_mae_vs_baseline"] <= 0.7).all()
