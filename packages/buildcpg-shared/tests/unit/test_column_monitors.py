"""Column monitors: a feed broken by the sample generator (tools/generate_sales.py --break) is caught as an
anomaly against the band learned from past runs; steady runs are not; the anomaly is a flagged part of the
quality score and fails Inspect (alerts like a failed test), or warns with severity warn."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.config.lab_config import LabConfig, MonitorsConfig
from buildcpg_shared.ingest import ledger
from buildcpg_shared.quality import DbtArtifacts
from buildcpg_shared.quality.monitors import band, run_monitors, series
from buildcpg_shared.quality.runstep import score_run
from conftest import WORKSPACE_ROOT
from pydantic import ValidationError

COLUMNS = ["gold.sales.unit_price", "gold.sales.units", "gold.sales.discount_pct", "gold.sales.sale_date"]


GENERATOR = WORKSPACE_ROOT / "tools" / "generate_sales.py"


def _load_run(con: duckdb.DuckDBPyConnection, out: Path, seed: int, broken: str | None = None) -> None:
    """One run's gold: a month of sales from the sample generator (a new seed each run: the numbers move like a
    real feed), broken with ``--break`` when asked."""
    args = ["--out", str(out), "--rows", "3000", "--seed", str(seed), "--months", "1", "--no-dirty"]
    done = subprocess.run(
        [sys.executable, str(GENERATOR), *args, *(["--break", broken] if broken else [])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    con.execute("create schema if not exists gold")
    con.execute(f"create or replace table gold.sales as select * from read_csv('{out}/sales_*.csv')")


def _learned(tmp_path: Path, con: duckdb.DuckDBPyConnection, config: MonitorsConfig, runs: int = 6) -> None:
    for i in range(runs):
        _load_run(con, tmp_path / f"run{i}", seed=100 + i)
        result = run_monitors(con, config, f"r{i}")
        assert not result.anomalies, [a.describe() for a in result.anomalies]  # steady feed: no false alarm
        assert (result.checked > 0) == (i >= config.min_runs), (i, result)


@pytest.mark.parametrize(
    ("broken", "caught"),
    [
        ("x100:unit_price:0.3", {("gold.sales.unit_price", "mean"), ("gold.sales.unit_price", "max")}),
        ("null:discount_pct:0.4", {("gold.sales.discount_pct", "null_rate")}),
    ],
)
def test_a_broken_feed_is_caught_and_a_steady_one_is_not(
    tmp_path: Path, broken: str, caught: set[tuple[str, str]]
) -> None:
    config = MonitorsConfig(columns=COLUMNS)
    con = duckdb.connect()
    try:
        _learned(tmp_path, con, config)
        _load_run(con, tmp_path / "broken", seed=200, broken=broken)
        result = run_monitors(con, config, "broken")
        found = {(a.column, a.metric) for a in result.anomalies}
        assert caught <= found, [a.describe() for a in result.anomalies]
        assert not {c for c, _m in found} - {c for c, _m in caught}  # the other columns stay quiet
        kept = series(con, [("gold.sales.unit_price", "mean")], runs=30)
        assert len(kept) == 7  # every run's value kept: the series the report draws
    finally:
        con.close()


def test_the_band_is_median_plus_minus_k_mad() -> None:
    low, high, median = band([10, 11, 12, 13, 14], k=2)
    assert median == 12 and low == pytest.approx(12 - 2 * 1.4826) and high == pytest.approx(12 + 2 * 1.4826)
    assert band([5.0] * 6, k=3) == (pytest.approx(4.95), pytest.approx(5.05), 5.0)  # at least 1% either side


def test_monitors_config_names_plain_gold_or_silver_columns() -> None:
    with pytest.raises(ValidationError, match=re.escape("'raw.sales.units' is not <gold|silver>.<table>.<column>")):
        MonitorsConfig(columns=["raw.sales.units"])
    with pytest.raises(ValidationError, match=re.escape("is not <gold|silver>.<table>.<column>")):
        MonitorsConfig(columns=["gold.sales.units; drop table x"])


@pytest.mark.parametrize(("severity", "status"), [("error", "failed"), ("warn", "warn")])
def test_an_anomaly_is_a_flagged_score_part_and_fails_inspect(tmp_path: Path, severity: str, status: str) -> None:
    config = LabConfig(name="lab9_x", monitors={"columns": COLUMNS, "severity": severity})
    assert config.monitors is not None
    con = duckdb.connect()
    try:
        ledger.ensure_ledger(con)
        for i in range(6):
            _load_run(con, tmp_path / f"run{i}", seed=100 + i)
            steady = score_run(con, config, f"r{i}", DbtArtifacts(), [])
            assert steady.status == "ok", steady.note
        monitors = next(p for p in (steady.data or {})["parts"] if p["name"] == "monitors")
        assert monitors["value"] == 1.0 and not monitors["flagged"]
        _load_run(con, tmp_path / "broken", seed=200, broken="x100:unit_price:0.3")
        broken = score_run(con, config, "broken", DbtArtifacts(), [])
    finally:
        con.close()
    assert broken.status == status
    assert "column anomaly: " in broken.note and "gold.sales.unit_price mean " in broken.note
    part = next(p for p in (broken.data or {})["parts"] if p["name"] == "monitors")
    assert part["flagged"] and part["value"] < 1.0 and "gold.sales.unit_price" in part["detail"]
    assert (broken.data or {})["monitors"]["anomalies"]


def test_a_lab_without_monitors_has_no_monitors_part(tmp_path: Path) -> None:
    con = duckdb.connect()
    try:
        ledger.ensure_ledger(con)
        _load_run(con, tmp_path / "run", seed=1)
        quality = score_run(con, LabConfig(name="lab9_x"), "r1", DbtArtifacts(), [])
    finally:
        con.close()
    assert [p["name"] for p in (quality.data or {})["parts"]] == [
        "tests",
        "validity",
        "completeness",
        "uniqueness",
        "freshness",
        "volume",
    ]
