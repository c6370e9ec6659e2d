"""Lab 2 on awkward series: gaps, zeros, different starts, short and dead series, empty optional inputs.

One monthly run (generated here) holds every case at once, so the test also proves that one bad
series never blanks another: the two healthy series must be forecast in full next to the others.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lab2_expected import assert_gold_matches, read_table, run_with_series

FORECAST = {"frequency": "monthly", "horizon": 6, "origins": 2}  # season_length from the frequency: 12
END = pd.Timestamp("2025-12-01")


def _monthly(sku: str, months: int, rng: np.random.Generator, *, day: int = 1) -> pd.DataFrame:
    """``months`` months ending at END of a seasonal series; dates on ``day`` of the month."""
    dates = pd.date_range(end=END, periods=months, freq="MS") + pd.Timedelta(days=day - 1)
    season = 1 + 0.4 * np.cos(2 * np.pi * (dates.month.to_numpy() - 7) / 12)
    units = rng.poisson(80 * season).astype(float) + 0.25  # decimals are allowed
    return pd.DataFrame({"period_start": dates.date, "sku": sku, "region": "r1", "units": units})


@pytest.fixture(scope="module")
def awkward_run(lab_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    rng = np.random.default_rng(7)
    gappy = _monthly("GAPPY", 60, rng, day=15)  # mid-month dates, truncated to the 1st
    gappy = gappy.drop(index=[20, 21, 40])  # three missing months
    gappy.loc[30, "units"] = 0.0  # a reported zero
    healthy = _monthly("HEALTHY", 48, rng)  # starts a year later than GAPPY
    short = _monthly("SHORT", 20, rng)  # 8 months before the first origin: under two seasons
    launch = _monthly("LAUNCH", 8, rng)
    dead = _monthly("DEAD", 40, rng).iloc[:30]  # stopped 10 months before the end
    single = _monthly("SINGLE", 1, rng)
    demand = pd.concat([gappy, healthy, short, launch, dead, single], ignore_index=True)
    files = {"promotions.csv": "promo_id,sku,region,start_date,end_date,discount_pct\n"}  # header only; no holidays
    lab, report = run_with_series(lab_dir, tmp_path_factory.mktemp("awkward"), demand, FORECAST, files)
    assert report.ok, f"run failed: {report.error}; {[(s.name, s.status, s.detail) for s in report.steps]}"
    return lab


def test_every_series_is_forecast_or_reported(awkward_run) -> None:
    db = awkward_run.paths.database()
    series = read_table(db, "select * from gold.forecast_series").set_index("sku")
    assert set(series.index) == {"GAPPY", "HEALTHY", "SHORT", "LAUNCH", "DEAD", "SINGLE"}
    assert series.loc["GAPPY", "status"] == "regular" and series.loc["HEALTHY", "status"] == "regular"
    assert series.loc["SHORT", "status"] == "short_history"
    assert series.loc["LAUNCH", "status"] == "too_short"
    assert series.loc["SINGLE", "status"] == "too_short"
    assert series.loc["DEAD", "status"] == "discontinued"
    assert "no demand in the last 6 periods" in series.loc["DEAD", "reason"]
    ahead = read_table(db, "select * from gold.demand_forecast").set_index("sku")
    assert ahead.groupby(level=0).size().to_dict() == dict.fromkeys(series.index, 6)
    for sku in ("GAPPY", "HEALTHY", "SHORT", "LAUNCH", "SINGLE"):
        assert ahead.loc[sku, "forecast_units"].notna().all(), sku
    assert (ahead.loc["DEAD", "forecast_units"] == 0).all()
    first = pd.Timestamp(ahead["period_start"].min())
    assert first == END + pd.DateOffset(months=1)


def test_gaps_are_zero_filled_on_each_series_own_calendar(awkward_run) -> None:
    db = awkward_run.paths.database()
    rows = read_table(db, "select * from silver.int_demand_series where sku = 'GAPPY' order by period_start")
    assert len(rows) == 60  # five years of months, mid-month dates moved to the 1st
    assert (pd.to_datetime(rows["period_start"]).dt.day == 1).all()
    assert rows["is_filled"].sum() == 3 and (rows.loc[rows["is_filled"], "units"] == 0).all()
    assert (rows["units"] == 0).sum() == 4  # the three gaps and the reported zero
    healthy = read_table(db, "select min(period_start) as first from silver.int_demand_series where sku = 'HEALTHY'")
    assert pd.Timestamp(healthy["first"].iloc[0]) == END - pd.DateOffset(months=47)
    # no promotion and no holiday: flags are false, not null
    flags = read_table(db, "select count(*) filter (where on_promo or is_holiday) as n from silver.int_demand_series")
    assert flags["n"].iloc[0] == 0


def test_short_histories_get_models_without_season(awkward_run) -> None:
    db = awkward_run.paths.database()
    short = read_table(db, "select * from silver.int_candidate_forecasts where sku = 'SHORT'")
    assert set(short["method"]) == {"seasonal_naive", "naive", "auto_ets", "auto_theta", "ensemble"}
    # seasonal naive is the value one season (12 months) earlier; where the history has none, it is null
    history = read_table(db, "select period_index, units from silver.int_demand_series where sku = 'SHORT'")
    earlier = dict(zip(history["period_index"] + 12, history["units"], strict=True))
    naive = short[(short["kind"] == "backtest") & (short["method"] == "seasonal_naive")]
    expected = naive["period_index"].map(earlier)
    assert expected.isna().sum() == 4 and naive["forecast_units"].isna().sum() == 4
    assert naive["forecast_units"].fillna(-1).tolist() == expected.fillna(-1).tolist()
    launch = read_table(db, "select * from silver.int_candidate_forecasts where sku = 'LAUNCH'")
    assert set(launch["kind"]) == {"forecast"} and set(launch["method"]) == {"auto_ets", "naive"}
    series = read_table(db, "select sku, model from gold.forecast_series").set_index("sku")["model"]
    assert series["LAUNCH"] == "auto_ets" and series["SINGLE"] == "naive"  # ETS needs 7 points


def test_daily_series_run_end_to_end(lab_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The fourth frequency: daily data with a weekday pattern; season 7 comes from the frequency."""
    rng = np.random.default_rng(11)
    days = pd.date_range("2025-06-01", periods=120, freq="D")
    weekday = np.array([0.8, 0.9, 1.0, 1.0, 1.2, 1.6, 0.5])[days.weekday]
    frames = [
        pd.DataFrame({"period_start": days.date, "sku": sku, "region": "r1", "units": rng.poisson(level * weekday)})
        for sku, level in (("DAILY-A", 40), ("DAILY-B", 90))
    ]
    forecast = {"frequency": "daily", "horizon": 14, "origins": 2}
    lab, report = run_with_series(lab_dir, tmp_path_factory.mktemp("daily"), pd.concat(frames), forecast)
    assert report.ok, f"run failed: {report.error}"
    db = lab.paths.database()
    ahead = read_table(db, "select * from gold.demand_forecast order by sku, horizon")
    assert len(ahead) == 28 and ahead["forecast_units"].notna().all()
    assert pd.Timestamp(ahead["period_start"].min()) == pd.Timestamp(days[-1]) + pd.Timedelta(days=1)
    series = read_table(db, "select * from gold.forecast_series")
    assert (series["status"] == "regular").all() and series["final_points"].eq(14).all()
    # the daily calendar, the selection and the metrics agree with the independent computation
    assert_gold_matches(db, lab.paths.raw_dir, {**forecast, "season_length": 7})
