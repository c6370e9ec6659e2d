"""One run service: a lab run started any way is recorded once, with the same times everywhere, and alerts once.

Real runs of lab 1 (its own venv, real dbt and DuckDB) in a workspace copy: ``buildcpg run``,
``buildcpg-lab run`` in the lab folder (what ``make run`` runs) and one ``buildcpg watch`` trigger. The
Airflow task is exercised by tools/tests (``tox -e airflow``) with Airflow's own ``dag.test()``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from buildcpg_shared.history import History
from buildcpg_shared.report.timefmt import utc_text
from buildcpg_shared.testing import cli_env, clone_lab, copy_workspace, keep_only_labs, run_cli
from conftest import LAB1, WORKSPACE_ROOT

BROKEN = "lab2_broken"


@pytest.fixture(scope="module")
def workspace(lab1_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace of its own (empty history, lab 1 on its sample data, lab 1's synced venv) with a
    JSON-lines alert route."""
    root = copy_workspace(WORKSPACE_ROOT, tmp_path_factory.mktemp("runsvc") / "ws")
    keep_only_labs(root, [LAB1])
    (root / "labs" / LAB1 / ".venv").symlink_to(lab1_workspace / "labs" / LAB1 / ".venv", target_is_directory=True)
    (root / "buildcpg.yaml").write_text("alerts:\n  routes:\n    - {type: log, path: .buildcpg/alerts.jsonl}\n")
    return root


def _history(root: Path, lab: str) -> list[dict[str, Any]]:
    """The lab's recorded runs, oldest first, as ``buildcpg runs --json`` prints them."""
    return [r.to_dict() for r in reversed(History.for_state_dir(root / ".buildcpg").lab_runs(lab, last=100))]


def _lab_run(root: Path, lab: str) -> subprocess.CompletedProcess[str]:
    """``buildcpg-lab run`` in the lab folder, in its venv: what ``make run`` does once the venv is synced."""
    lab_dir = root / "labs" / lab
    return subprocess.run(
        [str(lab_dir / ".venv" / "bin" / "buildcpg-lab"), "--lab-dir", str(lab_dir), "run"],
        cwd=lab_dir,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def _watch_one_event(root: Path, lab: str) -> str:
    """Start ``buildcpg watch``, touch a raw file, wait for the run to be recorded, stop it (Ctrl-C)."""
    before = len(_history(root, lab))
    watch = subprocess.Popen(
        [sys.executable, "-m", "buildcpg_shared.cli", "watch", lab, "--debounce", "0.3", "--no-sync"],
        cwd=root,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert watch.stdout is not None
        first = watch.stdout.readline()
        assert first.startswith("watching"), first
        raw = sorted((root / "labs" / lab / "data" / "raw").rglob("*.csv"))[0]
        os.utime(raw)  # changed mtime, same content: a run that loads nothing new
        deadline = time.monotonic() + 300
        while len(_history(root, lab)) == before and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        watch.send_signal(signal.SIGINT)
        out, _ = watch.communicate(timeout=120)
    return first + out


def _same_times_everywhere(root: Path, lab: str, row: dict[str, Any]) -> None:
    """labs, status, runs, last_run.json and the report show the run's one recorded time."""
    last_run = json.loads((root / "labs" / lab / "data" / "last_run.json").read_text())
    assert (last_run["started_at"], last_run["finished_at"], last_run["duration_s"]) == (
        row["started_at"],
        row["finished_at"],
        row["duration_s"],
    )
    labs = {x["name"]: x for x in json.loads(run_cli(root, "labs", "--json").stdout)}
    assert labs[lab]["last_run"] == {
        "status": row["status"],
        "finished_at": row["finished_at"],
        "duration_s": row["duration_s"],
    }
    status = {x["lab"]: x for x in json.loads(run_cli(root, "status", "--json").stdout)}
    assert status[lab]["last_run"] == row["finished_at"] and status[lab]["last_status"] == row["status"]
    report = run_cli(root, "report", lab, "--out", str(root / ".buildcpg" / "same-times.html"))
    assert report.returncode == 0, report.stdout + report.stderr
    html = (root / ".buildcpg" / "same-times.html").read_text()
    text = re.sub(r"<[^>]+>", "", html)  # the time sits in its own element (the report's local-time script)
    # the same moment, in the report's one time form (to the second, UTC)
    assert f"finished {utc_text(row['finished_at'])} · {row['duration_s']:.2f} s" in text


def _assert_a_real_run(row: dict[str, Any]) -> None:
    assert row["status"] in ("ok", "warn"), row
    assert row["duration_s"] > 0 and row["quality"] is not None and row["lab_run_id"], row
    started, finished = datetime.fromisoformat(row["started_at"]), datetime.fromisoformat(row["finished_at"])
    assert started <= finished
    assert [s["name"] for s in row["steps"]] == ["check", "load", "transform", "test", "inspect", "publish"]


def test_every_way_to_run_records_one_row_with_the_same_times(workspace: Path) -> None:
    cli = run_cli(workspace, "run", LAB1, "--no-sync")
    assert cli.returncode == 0, cli.stdout + cli.stderr
    rows = _history(workspace, LAB1)
    assert len(rows) == 1  # recorded once: by the lab process, not again by `buildcpg run`
    _assert_a_real_run(rows[0])
    assert rows[0]["log"] and Path(rows[0]["log"]).is_file()  # the parent's log of the lab's output
    _same_times_everywhere(workspace, LAB1, rows[0])
    platform_runs = History.for_state_dir(workspace / ".buildcpg").runs()
    assert [r["run_id"] for r in platform_runs] == [rows[0]["run_id"]]  # the row joins `buildcpg run`'s run

    made = _lab_run(workspace, LAB1)
    assert made.returncode == 0, made.stdout + made.stderr
    rows = _history(workspace, LAB1)
    assert len(rows) == 2
    _assert_a_real_run(rows[1])
    _same_times_everywhere(workspace, LAB1, rows[1])
    own = History.for_state_dir(workspace / ".buildcpg").runs()[0]
    assert own["run_id"] == rows[1]["run_id"] and own["command"].startswith("buildcpg-lab ")

    out = _watch_one_event(workspace, LAB1)
    rows = _history(workspace, LAB1)
    assert len(rows) == 3, out
    _assert_a_real_run(rows[2])
    _same_times_everywhere(workspace, LAB1, rows[2])
    assert f"{LAB1}: run {rows[2]['status']} in {rows[2]['duration_s']:.1f}s" in out, out
    assert History.for_state_dir(workspace / ".buildcpg").runs()[0]["command"] == f"buildcpg watch {LAB1}"


def test_a_failing_lab_alerts_once_whichever_way_it_runs(workspace: Path) -> None:
    broken = clone_lab(workspace / "labs" / LAB1, BROKEN)
    model = broken / "dbt" / "models" / "marts" / "zz_broken.sql"
    model.write_text("select nope from {{ ref('int_sales') }}\n")
    alerts_log = workspace / ".buildcpg" / "alerts.jsonl"

    lab_cli = _lab_run(workspace, BROKEN)
    assert lab_cli.returncode == 1, lab_cli.stdout + lab_cli.stderr
    assert f"alert [buildcpg] ALERT {BROKEN}: run failed → log .buildcpg/alerts.jsonl: sent" in lab_cli.stdout
    cli = run_cli(workspace, "run", BROKEN, "--no-sync")
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert "ALERT" not in cli.stdout  # the incident is open already: no second alert

    rows = _history(workspace, BROKEN)
    assert [r["status"] for r in rows] == ["failed", "failed"]
    assert all(r["duration_s"] > 0 and "transform" in r["error"] for r in rows), rows
    alerts = [json.loads(line) for line in alerts_log.read_text().splitlines()]
    assert [(a["lab"], a["kind"], a["state"]) for a in alerts if a["lab"] == BROKEN] == [(BROKEN, "failed", "open")]
    incidents = History.for_state_dir(workspace / ".buildcpg").incidents(BROKEN)
    assert [(i["kind"], i["closed_at"]) for i in incidents] == [("failed", None)]

    model.unlink()
    fixed = run_cli(workspace, "run", BROKEN, "--no-sync")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert f"RECOVERED {BROKEN}" in fixed.stdout
    alerts = [json.loads(line) for line in alerts_log.read_text().splitlines()]
    assert [a["state"] for a in alerts if a["lab"] == BROKEN] == ["open", "recovered"]


def test_a_run_the_lab_could_not_record_is_recorded_by_its_parent(workspace: Path) -> None:
    """A lab that never starts (its python is gone) is recorded once, by ``buildcpg run``."""
    ghost = clone_lab(workspace / "labs" / LAB1, "lab3_ghost", share_venv=False)
    (ghost / ".venv" / "bin").mkdir(parents=True)  # a venv without python
    cli = run_cli(workspace, "run", "lab3_ghost", "--no-sync")
    assert cli.returncode == 1, cli.stdout + cli.stderr
    rows = _history(workspace, "lab3_ghost")
    assert len(rows) == 1 and rows[0]["status"] == "failed" and "could not start" in rows[0]["error"], rows
    alerts = [json.loads(line) for line in (workspace / ".buildcpg" / "alerts.jsonl").read_text().splitlines()]
    assert [(a["kind"], a["state"]) for a in alerts if a["lab"] == "lab3_ghost"] == [("failed", "open")]
