"""Quality score arithmetic, dbt artifact reading and the serving publish, on real files (no dbt here:
the dbt runs that produce these situations for real are in the lab's own tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.config import load_lab_config
from buildcpg_shared.config.lab_config import VolumeConfig
from buildcpg_shared.errors import ConfigError
from buildcpg_shared.quality import QualityPart, QualityScore, read_artifacts
from buildcpg_shared.quality.score import pass_rate_part, validity_part, volume_part
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
    with pytest.raises(Exception, match=r"manifest.json: dbt artifact missing"):
        read_artifacts(tmp_path)


def test_publish_swaps_the_file_and_a_held_reader_keeps_its_version(tmp_path: Path) -> None:
    lab_db, serving = tmp_path / "lab.duckdb", tmp_path / "serving" / "lab.duckdb"
    con = duckdb.connect(str(lab_db))
    con.execute("create schema gold; create table gold.t as select * from range(10) r(i)")
    first = publish(con, serving, lab="lab9_tiny", run_id="r1", version=1)
    assert first.tables == {"gold.t": 10}
    probe = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); q = "
        "'select version, (select count(*) from gold.t) from _buildcpg.serving_version'; "
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
        assert reader.execute("select version, run_id from _buildcpg.serving_version").fetchone() == (2, "r2")
        assert reader.execute("select count(*) from gold.t").fetchone() == (15,)
    assert sorted(p.name for p in serving.parent.iterdir()) == ["lab.duckdb"]  # no temp file left
