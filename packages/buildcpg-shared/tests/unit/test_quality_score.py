"""Quality score arithmetic, dbt artifact reading and the serving publish, on real files (no dbt here:
the dbt runs that produce these situations for real are in the lab's own tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.cli.quality import quality_cell, score_heading
from buildcpg_shared.config import load_lab_config
from buildcpg_shared.config.lab_config import LabConfig, VolumeConfig
from buildcpg_shared.errors import ConfigError, StepError
from buildcpg_shared.ingest import ledger
from buildcpg_shared.quality import QualityPart, QualityScore, read_artifacts, store
from buildcpg_shared.quality.artifacts import DbtArtifacts, TestOutcome
from buildcpg_shared.quality.runstep import score_run
from buildcpg_shared.quality.score import ledger_increments, pass_rate_part, validity_part, volume_part
from buildcpg_shared.run_record import StepRecord
from buildcpg_shared.serving import publish


def test_score_is_the_weighted_mean_of_the_applicable_parts() -> None:
    score = QualityScore(
        "lab",
        [
            QualityPart("tests", 30, 0.5, ""),
            QualityPart("validity", 20, 1.0, ""),
            QualityPart("uniqueness", 15, None, "no key column(s)"),  # n/a: left out of the weights
        ],
        threshold=80,
    )
    assert score.score == pytest.approx(100 * (30 * 0.5 + 20 * 1.0) / 50)
    assert not score.passed


def test_parts_from_counts() -> None:
    assert pass_rate_part(30, ["pass", "pass", "warn", "fail", "skipped"]).value == pytest.approx(2.5 / 4)
    assert validity_part(20, 990, 10).value == pytest.approx(0.99)
    assert validity_part(20, 0, 0).value is None


@pytest.mark.parametrize(
    ("rows", "flagged"),
    [(1000, False), (701, False), (699, True), (2000, False), (2001, True)],
)
def test_volume_is_flagged_outside_the_band_around_the_median(rows: int, flagged: bool) -> None:
    rule = VolumeConfig(window=5, max_drop=0.3, max_spike=1.0)
    part = volume_part(10, rows, [1000, 990, 5000, 1010, 1000], rule)  # median 1000: one outlier run ignored
    assert part.flagged is flagged and part.value == (0.0 if flagged else 1.0)
    assert volume_part(10, 5, [], rule).value == 1.0  # no baseline yet


def test_zero_rows_is_not_full_volume() -> None:
    rule = VolumeConfig()
    for previous in ([], [0, 0], [1000, 1000]):
        part = volume_part(10, 0, previous, rule)
        assert part.value == 0.0 and part.flagged and "0 rows" in part.detail, previous


def test_a_gated_run_scores_zero_with_every_part_still_shown() -> None:
    parts = [QualityPart("tests", 30, 1.0, "76 pass"), QualityPart("volume", 10, 1.0, "")]
    gated = QualityScore("lab", parts, threshold=0, gate="transform failed")
    assert (gated.score, gated.weighted, gated.passed) == (0.0, 100.0, False)  # even with min_score 0
    data = gated.to_dict()
    assert data["gate"] == "transform failed" and [p["weight"] for p in data["parts"]] == [30, 10]
    assert QualityScore("lab", parts, threshold=80).passed


def _load_month(con: duckdb.DuckDBPyConnection, run_id: str, month: int, rows: int) -> None:
    entry = ledger.LedgerEntry("sales", f"sales_{month:02d}.csv", 1, 1, f"sha{month}", rows, 0)
    ledger.record(con, entry, run_id)


def test_volume_compares_increments_with_increments_and_sizes_with_sizes() -> None:
    """12 months loaded at once, then a month per run: one more month is not a drop against the full load,
    but a month far below the typical month is, and so is a table that shrinks."""
    rule = VolumeConfig(window=5, max_drop=0.3, max_spike=1.0)
    con = duckdb.connect()
    ledger.ensure_ledger(con)
    for month in range(1, 13):
        _load_month(con, "full", month, 1000)
    assert ledger_increments(con, "full", 5) == (None, [])  # the first full load: size check only
    sizes = [12_000]

    _load_month(con, "m13", 13, 1000)
    new, typical = ledger_increments(con, "m13", 5)
    assert (new, typical) == (1000, [])  # the full load is never a typical increment
    part = volume_part(10, 13_000, sizes, rule, new_rows=new, increments=typical)
    assert part.value == 1.0 and not part.flagged, part.detail
    sizes.append(13_000)

    _load_month(con, "m14", 14, 1100)
    new, typical = ledger_increments(con, "m14", 5)
    assert (new, typical) == (1100, [1000])
    assert volume_part(10, 14_100, sizes, rule, new_rows=new, increments=typical).value == 1.0
    sizes.append(14_100)

    _load_month(con, "m15", 15, 40)  # a broken export: 40 rows where a month has about 1000
    new, typical = ledger_increments(con, "m15", 5)
    assert (new, typical) == (40, [1000, 1100])
    short = volume_part(10, 14_140, sizes, rule, new_rows=new, increments=typical)
    assert short.flagged and short.value == 0.0 and "40 new rows" in short.detail and "(drop)" in short.detail

    shrunk = volume_part(10, 6_000, sizes, rule, new_rows=0, increments=typical)  # files re-exported, truncated
    assert shrunk.flagged and "6,000 rows vs median 13,000" in shrunk.detail


def _history_db(statuses: list[str]) -> duckdb.DuckDBPyConnection:
    """A database with one earlier scored run "r1" whose tests ended in ``statuses``."""
    con = duckdb.connect()
    store.ensure_tables(con)
    tests = [
        TestOutcome(f"test.l.t{i}", f"t{i}", status, 0, "", "unique", "id", ("gold.t",))
        for i, status in enumerate(statuses)
    ]
    store.record_artifacts(con, "r1", DbtArtifacts("inv", tests))
    parts = [pass_rate_part(30, statuses), QualityPart("validity", 20, 1.0, "0 of 10 rows rejected")]
    table = QualityScore("gold.t", [QualityPart("tests", 30, 1.0, "")], row_count=10)
    store.record_score(con, "r1", QualityScore("lab", parts, threshold=80, row_count=10, tables={"gold.t": table}))
    return con


def test_an_idle_rerun_carries_the_last_test_outcome_forward() -> None:
    con = _history_db(["pass", "pass", "warn"])
    before = store.latest(con)["lab"]
    quality = score_run(con, LabConfig(name="lab9_tiny"), "r2", None, ["gold.t"], failed_steps=[])
    assert quality.status == "warn"  # the warned-about data is still there
    assert "carried from run r1" in quality.note and "2 pass, 1 warn" in quality.note
    carried = quality.data
    assert carried is not None
    assert carried["carried_from"] == "r1" and carried["score"] == before["score"]
    assert carried["parts"] == before["parts"]
    assert store.latest(con)["lab"]["run_id"] == "r1"  # nothing new stored: the idle run stays cheap


def test_a_failed_transform_stores_a_failing_score_with_the_last_parts() -> None:
    con = _history_db(["pass", "pass"])
    before = store.latest(con)["lab"]
    assert before["score"] == 100 and before["passed"]
    quality = score_run(con, LabConfig(name="lab9_tiny"), "r2", None, ["gold.t"], failed_steps=["transform"])
    assert quality.status == "ok" and "0 because transform failed" in quality.note  # Transform fails the run
    stored = store.latest(con)
    lab = stored["lab"]
    assert (lab["run_id"], lab["score"], lab["passed"]) == ("r2", 0, False)
    assert "transform failed" in lab["gate"] and lab["parts"] == before["parts"]  # every part still shown
    assert set(stored) == {"lab", "gold.t"}  # the gold tables stay visible too
    assert quality.data is not None and quality.data["score"] == 0 and quality.data["weighted"] == 100
    assert "[red]" in quality_cell(StepRecord("inspect", data={"quality": quality.data})) and "[red]" in score_heading(
        "lab9", lab, color=True
    )
    assert "[green]" in quality_cell(
        StepRecord("inspect", data={"quality": {"score": 100, "threshold": 80, "passed": True}})
    )


def test_lab_yaml_quality_settings_are_validated(tmp_path: Path, tiny_lab_yaml: str) -> None:
    lab = tmp_path / "lab9_tiny"
    lab.mkdir()
    for quality, problem in (
        ("  freshness: {warn_after_hours: 48, error_after_hours: 24}\n", "error_after_hours must be at least"),
        ("  weights: {tests: 0, validity: 0, completeness: 0, uniqueness: 0, freshness: 0, volume: 0}\n", "weight"),
    ):
        (lab / "lab.yaml").write_text(tiny_lab_yaml + "quality:\n" + quality)
        with pytest.raises(ConfigError, match=problem):
            load_lab_config(lab / "lab.yaml")
    (lab / "lab.yaml").write_text(tiny_lab_yaml + "quality:\n  freshness: {warn_after_hours: 2}\n")
    assert load_lab_config(lab / "lab.yaml").quality.freshness.dbt_vars() == {
        "buildcpg_warn_after_hours": 2,
        "buildcpg_error_after_hours": 720,
    }


def test_artifacts_map_tests_to_gold_tables_and_sources(tmp_path: Path) -> None:
    """Files in the shape dbt 1.12 writes them (fields as in a real target/ folder)."""
    model = {"resource_type": "model", "schema": "gold", "name": "orders_daily", "alias": "orders_daily"}
    manifest = {
        "nodes": {
            "model.l.orders_daily": model,
            "test.l.not_null_orders_daily_day.1": {
                "name": "not_null_orders_daily_day",
                "column_name": "day",
                "test_metadata": {"name": "not_null"},
                "depends_on": {"nodes": ["model.l.orders_daily"]},
            },
        },
        "sources": {"source.l.raw.orders": {"schema": "raw", "name": "orders"}},
        "parent_map": {"model.l.orders_daily": ["source.l.raw.orders"], "test.l.not_null_orders_daily_day.1": []},
    }
    run_results = {
        "metadata": {"invocation_id": "abc"},
        "results": [
            {"unique_id": "model.l.orders_daily", "status": "success"},
            {"unique_id": "test.l.not_null_orders_daily_day.1", "status": "fail", "failures": 3, "message": "Got 3"},
        ],
    }
    sources = {
        "results": [
            {
                "unique_id": "source.l.raw.orders",
                "status": "warn",
                "max_loaded_at_time_ago_in_s": 7200.0,
                "criteria": {
                    "warn_after": {"count": 1, "period": "hour"},
                    "error_after": {"count": 2, "period": "day"},
                },
            }
        ]
    }
    for name, data in (("manifest.json", manifest), ("run_results.json", run_results), ("sources.json", sources)):
        (tmp_path / name).write_text(json.dumps(data))
    artifacts = read_artifacts(tmp_path)
    assert artifacts.invocation_id == "abc"
    (test,) = artifacts.tests
    assert (test.status, test.failures, test.test_type, test.models) == ("fail", 3, "not_null", ("gold.orders_daily",))
    (fresh,) = artifacts.freshness
    assert (fresh.source, fresh.status) == ("raw.orders", "warn")
    assert (fresh.warn_after_hours, fresh.error_after_hours) == (1, 48)
    assert artifacts.upstream_sources["gold.orders_daily"] == ["raw.orders"]


def test_missing_artifact_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StepError, match=r"manifest.json: dbt artifact missing"):
        read_artifacts(tmp_path)


def test_publish_swaps_the_file_and_a_held_reader_keeps_its_version(tmp_path: Path) -> None:
    lab_db, serving = tmp_path / "lab.duckdb", tmp_path / "serving" / "lab.duckdb"
    con = duckdb.connect(str(lab_db))
    con.execute("create schema gold; create table gold.t as select * from range(10) r(i)")
    first = publish(con, serving, lab="lab9_tiny", run_id="r1", version=1)
    assert first.tables == {"gold.t": 10}
    probe = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); q = "
        "'select version, (select count(*) from gold.t) from _buildcpg_version'; "
        "print(c.execute(q).fetchone(), flush=True); sys.stdin.readline(); print(c.execute(q).fetchone(), flush=True)"
    )
    held = subprocess.Popen(
        [sys.executable, "-c", probe, str(serving)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert held.stdout is not None and held.stdin is not None
    assert held.stdout.readline().strip() == "(1, 10)"
    con.execute("insert into gold.t select * from range(5)")
    publish(con, serving, lab="lab9_tiny", run_id="r2", version=2)
    held.stdin.write("\n")
    held.stdin.flush()
    assert held.stdout.readline().strip() == "(1, 10)"  # the open reader still sees its whole version
    held.wait(timeout=30)
    con.close()
    with duckdb.connect(str(serving), read_only=True) as reader:
        assert reader.execute("select version, run_id from _buildcpg_version").fetchone() == (2, "r2")
        assert reader.execute("select count(*) from gold.t").fetchone() == (15,)
    assert sorted(p.name for p in serving.parent.iterdir()) == ["lab.duckdb"]  # no temp file left
    assert sorted(p.name for p in (tmp_path / ".publish").iterdir()) == []  # temporaries are built here
