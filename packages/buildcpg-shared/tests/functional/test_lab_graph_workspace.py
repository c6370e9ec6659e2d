"""The four shipped labs as a graph, for real: each in its own venv, real dbt, real DuckDB files.

lab4_category_review reads labs 1, 2 and 3's published gold. On a workspace copy:
``run --all`` runs lab 4 after the other three; a changed lab 1 raw file rebuilds exactly lab 1 and
lab 4; a no-change rerun rebuilds nothing; a failing lab 1 skips lab 4 while labs 2 and 3 still run;
lab 1 and lab 4 run at the same time neither block nor corrupt each other.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.testing import cli_env, copy_workspace, run_cli
from conftest import WORKSPACE_ROOT as SOURCE_ROOT

LABS = ["lab1_sales_performance", "lab2_forecast_model", "lab3_customer_segmentation", "lab4_category_review"]
LAB1, LAB4 = LABS[0], LABS[3]


def _runs(root: Path, last: int = 4) -> dict[str, dict]:
    """The latest ``last`` lab runs of the history, by lab (each lab's newest)."""
    rows = json.loads(run_cli(root, "runs", "--last", str(last), "--json").stdout)
    newest: dict[str, dict] = {}
    for row in rows:
        newest.setdefault(row["lab"], row)
    return newest


def _step(row: dict, name: str) -> dict:
    return next(s for s in row["steps"] if s["name"] == name)


def _input_versions(root: Path) -> dict[str, int]:
    db = root / "labs" / LAB4 / "data" / f"{LAB4}.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute("select lab, version from _buildcpg.input_versions").fetchall())


def _serving_version(root: Path, lab: str) -> int:
    with duckdb.connect(str(root / "labs" / lab / "data" / "serving" / f"{lab}.duckdb"), read_only=True) as con:
        return int(con.execute("select version from _buildcpg_version").fetchone()[0])


@pytest.fixture(scope="module")
def graph_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace copy with the four labs, synced, after one `run --all`."""
    root = copy_workspace(SOURCE_ROOT, tmp_path_factory.mktemp("graph") / "ws")
    synced = run_cli(root, "sync")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    first = run_cli(root, "run", "--all", "--jobs", "2", "--no-sync")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    return root


def test_run_all_runs_the_reader_after_every_lab_it_reads(graph_ws: Path) -> None:
    runs = _runs(graph_ws)
    assert set(runs) == set(LABS) and all(r["status"] in ("ok", "warn") for r in runs.values()), runs
    upstream_end = max(runs[lab]["finished_at"] for lab in LABS[:3])
    assert runs[LAB4]["started_at"] >= upstream_end
    assert _input_versions(graph_ws) == {lab: _serving_version(graph_ws, lab) for lab in LABS[:3]}
    # the history says which published version of each input the run read
    assert runs[LAB4]["inputs"] == {
        "category_weeks": f"{LAB1} v{_serving_version(graph_ws, LAB1)}",
        "forecast": f"{LABS[1]} v{_serving_version(graph_ws, LABS[1])}",
        "segments": f"{LABS[2]} v{_serving_version(graph_ws, LABS[2])}",
    }
    assert runs[LAB1]["inputs"] == {}


def test_a_changed_lab1_file_rebuilds_exactly_lab1_and_its_reader(graph_ws: Path) -> None:
    versions = {lab: _serving_version(graph_ws, lab) for lab in LABS}
    sales = graph_ws / "labs" / LAB1 / "data" / "raw" / "sales_2026_06.csv"
    sales.write_text(sales.read_text() + "T999999999,2026-06-30,S001,SKU-1001,2,3.49,0,6.98,\n")
    done = run_cli(graph_ws, "run", "--all", "--jobs", "2", "--no-sync")
    assert done.returncode == 0, done.stdout[-3000:]
    runs = _runs(graph_ws)
    rebuilt = {lab for lab, row in runs.items() if _step(row, "transform")["status"] != "skipped"}
    assert rebuilt == {LAB1, LAB4}
    after = {lab: _serving_version(graph_ws, lab) for lab in LABS}
    assert after == {**versions, LAB1: versions[LAB1] + 1, LAB4: versions[LAB4] + 1}
    assert _input_versions(graph_ws)[LAB1] == after[LAB1]
    assert _runs(graph_ws)[LAB4]["inputs"]["category_weeks"] == f"{LAB1} v{after[LAB1]}"

    again = run_cli(graph_ws, "run", "--all", "--jobs", "2", "--no-sync")  # nothing new anywhere
    assert again.returncode == 0
    assert all(_step(row, "transform")["status"] == "skipped" for row in _runs(graph_ws).values())
    assert {lab: _serving_version(graph_ws, lab) for lab in LABS} == after


def test_a_failing_lab1_skips_lab4_and_labs_2_and_3_still_run(graph_ws: Path) -> None:
    broken = graph_ws / "labs" / LAB1 / "dbt" / "models" / "marts" / "zz_broken.sql"
    broken.write_text("select no_such_column from {{ ref('int_sales') }}\n")
    try:
        before = _serving_version(graph_ws, LAB4)
        done = run_cli(graph_ws, "run", "--all", "--jobs", "2", "--no-sync")
        assert done.returncode == 1
        runs = _runs(graph_ws)
        assert runs[LAB1]["status"] == "failed"
        assert runs[LAB4]["status"] == "skipped" and "upstream failed" in runs[LAB4]["error"]
        assert runs[LABS[1]]["status"] in ("ok", "warn") and runs[LABS[2]]["status"] in ("ok", "warn")
        assert "skipped (upstream failed)" in done.stdout
        assert _serving_version(graph_ws, LAB4) == before  # lab 4 kept its last good publish
    finally:
        broken.unlink()


def test_lab1_and_lab4_at_the_same_time_neither_blocks_nor_corrupts(graph_ws: Path) -> None:
    sales = graph_ws / "labs" / LAB1 / "data" / "raw" / "sales_2026_06.csv"
    sales.write_text(sales.read_text() + "T999999998,2026-06-30,S002,SKU-1002,1,2.99,0,2.99,\n")
    lab4_yaml = graph_ws / "labs" / LAB4 / "lab.yaml"
    lab4_yaml.write_text(lab4_yaml.read_text().replace("min_score: 80", "min_score: 79"))  # lab 4 must rebuild
    cmd = [sys.executable, "-m", "buildcpg_shared.cli", "run", "--no-sync"]
    env = cli_env()
    procs = [
        subprocess.Popen(
            [*cmd, lab], cwd=graph_ws, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for lab in (LAB1, LAB4)
    ]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    runs = _runs(graph_ws, last=2)
    assert {runs[LAB1]["status"], runs[LAB4]["status"]} <= {"ok", "warn"}
    used = _input_versions(graph_ws)[LAB1]
    assert used in (_serving_version(graph_ws, LAB1) - 1, _serving_version(graph_ws, LAB1))  # a whole version
    with duckdb.connect(str(graph_ws / "labs" / LAB4 / "data" / f"{LAB4}.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from inputs.category_weeks").fetchone()[0] > 0
