"""Faults a team meets every morning, and that every status tells the truth about (issue 22).

Each case checks the one line the user reads, the exit code, that nothing loaded before is lost and
that the next run recovers. The tiny-lab cases start real lab processes (``check,load``); the
reverted-model case runs lab 1 for real (its own venv, dbt, DuckDB).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.history import History
from buildcpg_shared.lab_lock import LabLock
from buildcpg_shared.run_record import LabRunRecord, Status, StepRecord
from buildcpg_shared.testing import cli_env, copy_workspace, keep_only_labs, run_cli
from conftest import LAB1, WORKSPACE_ROOT, tiny_labs_workspace

STG_SALES = "models/staging/stg_sales.sql"


def _lab_runs(root: Path) -> list[tuple[str, str, str]]:
    path = root / ".buildcpg" / "history.sqlite"
    if not path.exists():
        return []
    with sqlite3.connect(path) as con:
        return con.execute("select lab, status, error from lab_runs order by id").fetchall()


def _raw_rows(root: Path, lab: str) -> int:
    with duckdb.connect(str(root / "labs" / lab / "data" / f"{lab}.duckdb"), read_only=True) as con:
        return int(con.execute("select count(*) from raw.items").fetchone()[0])


def test_a_busy_upstream_makes_its_reader_busy_not_failed(tmp_path: Path) -> None:
    ws = tiny_labs_workspace(tmp_path / "ws", {"lab1_a": [], "lab4_d": ["lab1_a"]})
    first = run_cli(ws.root, "run", "lab1_a", "--steps", "check,load", "--no-sync")
    assert first.returncode == 0, first.stdout + first.stderr
    with LabLock(ws.lab("lab1_a").paths.lock_file, "lab1_a"):  # another run of lab1_a holds it
        busy = run_cli(ws.root, "run", "--all", "--steps", "check,load", "--no-sync")
    assert busy.returncode == 3, busy.stdout  # the help's promise: none failed, some busy
    assert "skipped (upstream failed)" not in busy.stdout
    assert "lab4_d busy" in busy.stdout and "upstream busy (running elsewhere): lab1_a (busy)" in busy.stdout
    assert "0 of 2 lab(s) passed, 2 busy" in busy.stdout
    statuses = {lab: status for lab, status, _ in _lab_runs(ws.root)[1:]}
    assert statuses == {"lab1_a": "busy", "lab4_d": "busy"}
    assert _raw_rows(ws.root, "lab1_a") == 1  # the first run's rows are kept
    # the next run, with the upstream free again, runs both (the reader fails on its own: nothing published)
    again = run_cli(ws.root, "run", "lab1_a", "--steps", "check,load", "--no-sync")
    assert again.returncode == 0, again.stdout


def test_an_invalid_buildcpg_yaml_stops_before_any_lab_runs(tmp_path: Path) -> None:
    ws = tiny_labs_workspace(tmp_path / "ws", {"lab1_a": []})
    ok = run_cli(ws.root, "run", "lab1_a", "--steps", "check,load", "--no-sync")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (ws.root / "buildcpg.yaml").write_text("alerts:\n  routes:\n    - {type: carrier_pigeon}\n")
    before = _lab_runs(ws.root)
    for args in (("run", "lab1_a", "--no-sync"), ("run", "--all", "--no-sync"), ("watch", "--all", "--no-sync")):
        result = run_cli(ws.root, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "buildcpg.yaml" in lines[0], result.stderr
        assert "Traceback" not in result.stdout + result.stderr
    # the lab's own command (make run in a lab folder) refuses the same way, and nothing is recorded twice
    lab_dir = ws.root / "labs" / "lab1_a"
    direct = subprocess.run(
        [sys.executable, "-m", "buildcpg_shared.cli.lab", "--lab-dir", str(lab_dir), "run", "--steps", "check"],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
    )
    assert direct.returncode == 2 and "buildcpg.yaml" in direct.stderr, direct.stdout + direct.stderr
    assert "Traceback" not in direct.stdout + direct.stderr
    assert _lab_runs(ws.root) == before  # nothing ran, nothing recorded
    assert _raw_rows(ws.root, "lab1_a") == 1
    (ws.root / "buildcpg.yaml").unlink()  # fixed: the next run works
    again = run_cli(ws.root, "run", "lab1_a", "--steps", "check,load", "--no-sync")
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(_lab_runs(ws.root)) == len(before) + 1


def test_status_says_warn_skipped_and_failed_with_the_reason(tmp_path: Path) -> None:
    ws = tiny_labs_workspace(tmp_path / "ws", {"lab1_a": [], "lab2_b": [], "lab3_c": []})
    history = History.for_state_dir(ws.state_dir)
    at = "2026-12-01T00:00:00+00:00"
    runs = {
        "lab1_a": LabRunRecord("lab1_a", Status.WARN, at, at, 1.0, steps=(StepRecord("test", Status.WARN),)),
        "lab2_b": LabRunRecord("lab2_b", Status.SKIPPED, at, at, 0.0, error="skipped (upstream failed): lab9 (failed)"),
        "lab3_c": LabRunRecord("lab3_c", Status.FAILED, at, at, 1.0, error="load failed: data/raw/x.csv: bad header"),
    }
    for record in runs.values():
        history.record_lab(history.start_run("test", 1), record)
    result = run_cli(ws.root, "status", "--json")
    assert result.returncode == 1, result.stdout  # a skipped or failed lab is not healthy
    states = {h["lab"]: (h["state"], h["healthy"], h["last_error"]) for h in json.loads(result.stdout)}
    assert states["lab1_a"] == ("warn", False, "")
    assert states["lab2_b"] == ("skipped", False, "skipped (upstream failed): lab9 (failed)")
    assert states["lab3_c"] == ("failed", False, "load failed: data/raw/x.csv: bad header")
    table = run_cli(ws.root, "status").stdout
    assert "load failed: data/raw/x.csv: bad header" in table and "skipped (upstream failed)" in table


@pytest.fixture(scope="module")
def lab1_copy(lab1_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_workspace(WORKSPACE_ROOT, tmp_path_factory.mktemp("revert") / "ws")
    keep_only_labs(root, [LAB1])
    (root / "labs" / LAB1 / ".venv").symlink_to(lab1_workspace / "labs" / LAB1 / ".venv", target_is_directory=True)
    return root


def test_fixing_a_broken_model_brings_the_lab_back(lab1_copy: Path) -> None:
    root = lab1_copy
    model = root / "labs" / LAB1 / "dbt" / STG_SALES
    good = model.read_text()
    first = run_cli(root, "run", LAB1, "--no-sync")
    assert first.returncode == 0, first.stdout[-3000:]
    serving = root / "labs" / LAB1 / "data" / "serving" / f"{LAB1}.duckdb"
    kept = root / "kept.duckdb"
    shutil.copy(serving, kept)

    model.write_text(good.replace("        sale_date,\n", "        sale_datez,\n", 1))
    broken = run_cli(root, "run", LAB1, "--no-sync")
    assert broken.returncode == 1
    cause = next(line for line in broken.stdout.splitlines() if line.startswith(f"✗ {LAB1}"))
    assert "transform failed: " in cause and "stg_sales" in cause, cause  # the cause, not only the step

    model.write_text(good)  # the fix (as git checkout would)
    fixed = run_cli(root, "run", LAB1, "--no-sync")
    assert fixed.returncode == 0, fixed.stdout[-3000:]
    steps = {line.split()[1]: line.split()[2] for line in fixed.stdout.splitlines() if line.startswith(f"[{LAB1}] ")}
    assert steps["transform"] == "ok" and steps["test"] in ("ok", "warn"), fixed.stdout[-3000:]  # built again
    assert "carried from run" not in fixed.stdout  # scored anew, not the failed run's 0
    assert "1 of 1 lab(s) passed" in fixed.stdout
    later = run_cli(root, "run", LAB1, "--no-sync")  # and the run after that is cheap again, and passes
    assert later.returncode == 0 and "transform skipped" in later.stdout, later.stdout[-3000:]
    with duckdb.connect(str(serving), read_only=True) as now, duckdb.connect(str(kept), read_only=True) as then:
        for (table,) in then.execute("select table_name from duckdb_tables() where schema_name = 'gold'").fetchall():
            assert (
                now.execute(f"select count(*) from gold.{table}").fetchone()
                == then.execute(f"select count(*) from gold.{table}").fetchone()
            ), table
