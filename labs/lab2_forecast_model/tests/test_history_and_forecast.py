"""gold.demand_history_and_forecast (the report's forecast chart): the observed units from the raw
files, then exactly the forecast rows of gold.demand_forecast, for every series."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml
from lab2_expected import read_table, series_from_raw


def test_actuals_come_from_the_raw_files_and_the_forecast_follows(lab_db: Path, raw_dir: Path, lab_dir: Path) -> None:
    frequency = yaml.safe_load((lab_dir / "lab.yaml").read_text(encoding="utf-8"))["forecast"]["frequency"]
    both = read_table(lab_db, "select * from gold.demand_history_and_forecast")
    key = ["sku", "region", "period_start"]

    actual = both[both["kind"] == "actual"][[*key, "actual_units"]].sort_values(key).reset_index(drop=True)
    expected = series_from_raw(raw_dir, frequency)[[*key, "units"]].rename(columns={"units": "actual_units"})
    expected = expected.sort_values(key).reset_index(drop=True)
    actual["period_start"] = pd.to_datetime(actual["period_start"])
    expected["period_start"] = pd.to_datetime(expected["period_start"])
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False)

    ahead = both[both["kind"] == "forecast"].sort_values(key).reset_index(drop=True)
    forecast = read_table(lab_db, "select * from gold.demand_forecast").sort_values(key).reset_index(drop=True)
    columns = ["forecast_units", "lower_80", "upper_80", "seasonal_naive_units"]
    pd.testing.assert_frame_equal(ahead[key + columns], forecast[key + columns], check_dtype=False)
    # the forecast starts after each series' last observed period
    last_seen = actual.groupby(["sku", "region"])["period_start"].max()
    first_ahead = pd.to_datetime(ahead["period_start"]).groupby([ahead["sku"], ahead["region"]]).min()
    assert (first_ahead > last_seen.reindex(first_ahead.index)).all()
