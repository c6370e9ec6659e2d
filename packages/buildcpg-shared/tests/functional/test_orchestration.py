"""`buildcpg run --all` on a workspace copy where labs fail in every way a lab can fail.

Four labs (lab 1 and three clones sharing its venv, all real dbt on real DuckDB):
- lab1_sales_performance passes;
- lab2_broken has a dbt model that references a missing column (Transform fails);
- lab3_hang has a model reading a named pipe that nobody writes: it blocks without using CPU until
  `--timeout` kills the process;
- lab4_killed is SIGKILLed by this test as soon as it holds its lab lock (mid-run).
The run must finish the others, record each lab truthfully in the history, send exactly one alert per
failing lab (a log route, a real webhook server, a per-lab route, and a webhook that is down), and the
next runs must not alert again while a lab stays broken, then recover with one recovery message each.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from alert_servers import free_port, webhook_server
from buildcpg_shared.testing import cli_env, clone_lab, copy_workspace, keep_only_labs, run_cli
from conftest import WORKSPACE_ROOT

LAB = "lab1_sales_performance"
TIMEOUT = 20  # lab3_hang's own timeout_s (lab.yaml); every other lab gets the generous --timeout


@pytest.fixture(scope="module")
def hook() -> Iterator[tuple[str, list[dict[str, object]]]]:
    with webhook_server() as server:
        yield server


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Workspace copy: lab 1 synced, three clones, global and per-lab alert routes."""
    root = copy_workspace(WORKSPACE_ROOT, tmp_path_factory.mktemp("orch") / "ws")
    keep_only_labs(root, [LAB])  # the scenario is lab 1 and its three clones
    synced = run_cli(root, "sync", LAB)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    labs = root / "labs"
    broken = clone_lab(labs / LAB, "lab2_broken")
    (broken / "dbt" / "models" / "marts" / "zz_broken.sql").write_text(
        "select no_such_column from {{ ref('int_sales') }}\n"
    )
    with (broken / "lab.yaml").open("a") as f:
        f.write("alerts:\n  routes:\n    - {type: log, path: .buildcpg/lab2-only.jsonl}\n")
    hang = clone_lab(labs / LAB, "lab3_hang")
    fifo = hang / "data" / "never_written.pipe"
    os.mkfifo(fifo)
    with (hang / "lab.yaml").open("a") as f:
        f.write(f"timeout_s: {TIMEOUT}\n")
    (hang / "dbt" / "models" / "marts" / "zz_hang.sql").write_text(
        f"select * from read_csv('{fifo}', header = false, columns = {{'x': 'VARCHAR'}})\n"
    )
    clone_lab(labs / LAB, "lab4_killed")
    (root / "buildcpg.yaml").write_text(
        "alerts:\n"
        "  routes:\n"
        "    - {type: log}\n"
        "    - {type: webhook, url_env: TEST_HOOK_URL}\n"
        "    - {type: webhook, url_env: DOWN_HOOK_URL, timeout_s: 2}\n"
    )
    return root


def _alerts(root: Path, name: str = "alerts.jsonl") -> list[tuple[str, str, str]]:
    path = root / ".buildcpg" / name
    lines = path.read_text().splitlines() if path.exists() else []
    return [(a["lab"], a["kind"], a["state"]) for a in map(json.loads, lines)]


def _kill_when_locked(lab_dir: Path, deadline_s: float = 120) -> int:
    holder = lab_dir / "data" / ".buildcpg.holder"
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            pid = int(json.loads(holder.read_text())["pid"])
        except (OSError, ValueError, KeyError):
            time.sleep(0.05)
            continue
        os.kill(pid, signal.SIGKILL)
        return pid
    raise AssertionError(f"{lab_dir.name} never took its lock")


def test_failures_are_isolated_recorded_and_alerted_once(ws: Path, hook: tuple[str, list[dict[str, object]]]) -> None:
    url, received = hook
    hooks = {"TEST_HOOK_URL": url, "DOWN_HOOK_URL": f"http://127.0.0.1:{free_port()}/down/SECRET-TOKEN"}
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "buildcpg_shared.cli", "run", "--all", "-j4", "--no-sync", "--timeout", "600"],
        cwd=ws,
        env=cli_env(**hooks),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    killed_pid = _kill_when_locked(ws / "labs" / "lab4_killed")
    out, _ = proc.communicate(timeout=600)
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, out
    assert elapsed < 300, "the hanging lab held up the run"
    assert "1 of 4 lab(s) passed" in out, out[-6000:]
    assert f"timed out after {TIMEOUT}s and was killed" in out
    assert "SECRET-TOKEN" not in out and "NOT sent" in out  # the down webhook is reported, secret masked

    history = sqlite3.connect(ws / ".buildcpg" / "history.sqlite")
    rows = dict(history.execute("select lab, status || ': ' || error from lab_runs").fetchall())
    assert rows[LAB].startswith(("ok", "warn"))
    assert rows["lab2_broken"].startswith("failed: transform failed: "), rows  # the cause, not only the step
    assert rows["lab3_hang"] == f"failed: timed out after {TIMEOUT}s and was killed"
    assert rows["lab4_killed"].startswith("failed: lab process exited with code -9"), killed_pid
    steps = dict(
        history.execute(
            "select s.name, s.status from step_runs s join lab_runs l on l.id = s.lab_run where l.lab = 'lab2_broken'"
        ).fetchall()
    )
    assert steps["transform"] == "failed" and steps["test"] == "skipped"
    # four labs at once share the cores: each lab's dbt ran with cores // 4 threads (at least 1)
    built = json.loads((ws / "labs" / LAB / "dbt" / "target" / "run_results.build.json").read_text())
    assert built["args"]["threads"] == max(1, (os.cpu_count() or 1) // 4)
    assert history.execute("select status, labs, passed, failed from runs").fetchall() == [("failed", 4, 1, 3)]

    opened = {("lab2_broken", "failed", "open"), ("lab3_hang", "failed", "open"), ("lab4_killed", "failed", "open")}
    assert sorted(_alerts(ws)) == sorted(opened)
    assert _alerts(ws, "lab2-only.jsonl") == [("lab2_broken", "failed", "open")]
    assert sorted((b["buildcpg"]["lab"], b["buildcpg"]["state"]) for b in received) == [  # type: ignore[index]
        ("lab2_broken", "open"),
        ("lab3_hang", "open"),
        ("lab4_killed", "open"),
    ]

    status = run_cli(ws, "status", "--json")
    assert status.returncode == 1
    health = {h["lab"]: h for h in json.loads(status.stdout)}
    assert health[LAB]["state"] == {"ok": "healthy", "warn": "warn"}[health[LAB]["last_status"]]  # warn says warn
    assert health["lab2_broken"]["state"] == "failed" and not health["lab2_broken"]["healthy"]
    assert health["lab2_broken"]["last_error"].startswith("transform failed: ")
    assert health["lab2_broken"]["failures_in_a_row"] == 1 and health["lab2_broken"]["open_incidents"] == ["failed"]

    # still broken: recorded again, no second alert (one per incident)
    again = run_cli(ws, "run", "lab2_broken", "--no-sync", **hooks)
    assert again.returncode == 1
    assert len(_alerts(ws)) == 3 and len(received) == 3
    runs = json.loads(run_cli(ws, "runs", "lab2_broken", "--json").stdout)
    assert [r["status"] for r in runs] == ["failed", "failed"]

    # fixed: the next run recovers, one recovery message per incident, through every route
    (ws / "labs" / "lab2_broken" / "dbt" / "models" / "marts" / "zz_broken.sql").unlink()
    (ws / "labs" / "lab3_hang" / "dbt" / "models" / "marts" / "zz_hang.sql").unlink()
    hang_yaml = ws / "labs" / "lab3_hang" / "lab.yaml"  # its short timeout was only there to catch the hang
    hang_yaml.write_text(hang_yaml.read_text().replace(f"timeout_s: {TIMEOUT}\n", ""))
    fixed = run_cli(ws, "run", "--labs", "lab2_broken,lab3_hang,lab4_killed", "--no-sync", **hooks)
    assert fixed.returncode == 0, fixed.stdout  # the down webhook does not fail the run
    recovered = [a for a in _alerts(ws) if a[2] == "recovered"]
    assert sorted(recovered) == [
        ("lab2_broken", "failed", "recovered"),
        ("lab3_hang", "failed", "recovered"),
        ("lab4_killed", "failed", "recovered"),
    ]
    assert len(received) == 6
    assert _alerts(ws, "lab2-only.jsonl")[-1] == ("lab2_broken", "failed", "recovered")
    killed_db = ws / "labs" / "lab4_killed" / "data" / "lab4_killed.duckdb"
    with duckdb.connect(str(killed_db), read_only=True) as con:
        loaded = con.execute("select sum(rows) from _buildcpg.ledger where source = 'sales'").fetchone()
        assert con.execute("select count(*) from raw.sales").fetchone() == loaded
    assert run_cli(ws, "status").returncode == 0


def test_dry_run_runs_nothing(ws: Path) -> None:
    before = json.loads(run_cli(ws, "runs", "--last", "100", "--json").stdout)
    result = run_cli(ws, "run", "--labs", f"{LAB},lab2_broken", "--dry-run", "--steps", "check,load")
    assert result.returncode == 0, result.stderr
    assert json.loads(run_cli(ws, "runs", "--last", "100", "--json").stdout) == before
    assert "2 lab(s) would run (nothing was run)" in result.stdout
    assert "check,load" in result.stdout and "lab3_hang" not in result.stdout


def test_broken_lab_yaml_fails_that_lab_only_and_alerts(ws: Path, hook: tuple[str, list[dict[str, object]]]) -> None:
    bad = clone_lab(ws / "labs" / LAB, "lab5_bad_yaml")
    try:
        with (bad / "lab.yaml").open("a") as f:
            f.write("shedule: daily\n")  # a typo: unknown key
        before = len(_alerts(ws))
        result = run_cli(ws, "run", "lab5_bad_yaml", "--no-sync", TEST_HOOK_URL=hook[0])
        assert result.returncode == 1
        assert "lab.yaml: shedule: unknown key" in result.stdout
        assert _alerts(ws)[before:] == [("lab5_bad_yaml", "failed", "open")]  # global routes still apply
        last = json.loads(run_cli(ws, "runs", "lab5_bad_yaml", "--json").stdout)[0]
        assert last["status"] == "failed" and "unknown key" in last["error"]
    finally:
        shutil.rmtree(bad)
