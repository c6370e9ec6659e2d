"""Two workspace copies, A and B, sharing nothing but one PostgreSQL (``BUILDCPG_STATE``): history,
incidents and the one-writer lease per lab across "machines" (issue 23, items 6 and 7).

A real server (``buildcpg_shared.local_servers.postgres_server``, session-scoped); without PostgreSQL's
server programs the tests say they did not run, under ``CI=true`` they fail.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import yaml
from alert_servers import json_api
from buildcpg_shared.errors import LabBusyError
from buildcpg_shared.history import History
from buildcpg_shared.local_servers import PASSWORD
from buildcpg_shared.registry import Workspace
from buildcpg_shared.run_record import LabRunRecord, Status
from buildcpg_shared.state_db import StateLease
from buildcpg_shared.testing import cli_env, run_cli
from conftest import tiny_labs_workspace

LABS: dict[str, list[str]] = {"lab1_a": [], "lab2_b": []}
STEPS = ("--steps", "check,load", "--no-sync")


def _pair(tmp_path: Path, *, broken_on_a: tuple[str, ...] = ()) -> tuple[Workspace, Workspace]:
    return (
        tiny_labs_workspace(tmp_path / "A", LABS, broken=broken_on_a),
        tiny_labs_workspace(tmp_path / "B", LABS),
    )


SLOW_S = 3.0  # how long the slow API takes to answer


@pytest.fixture
def slow_api() -> Iterator[str]:
    """The URL of a real HTTP server on 127.0.0.1 whose answers take ``SLOW_S``."""
    with json_api(lambda: time.sleep(SLOW_S)) as url:
        yield url


def _poll_slow_api(ws: Workspace, lab: str, url: str) -> None:
    """Give the lab an HTTP source on the slow API: its Check (under the lock and the lease) takes seconds."""
    path = ws.root / "labs" / lab / "lab.yaml"
    config = yaml.safe_load(path.read_text())
    config["sources"]["slow"] = {"type": "http", "http": {"url": url}, "columns": {"id": "INTEGER"}}
    path.write_text(yaml.safe_dump(config))


def _cli(ws: Workspace, state: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(ws.root, *args, BUILDCPG_STATE=state)


def _start(ws: Workspace, state: str, lab: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "buildcpg_shared.cli", "run", lab, *STEPS],
        cwd=ws.root,
        env=cli_env(BUILDCPG_STATE=state),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_runs_on_a_and_b_show_on_either(tmp_path: Path, state_url: str) -> None:
    a, b = _pair(tmp_path)
    assert _cli(a, state_url, "run", "lab1_a", *STEPS).returncode == 0
    assert _cli(b, state_url, "run", "lab2_b", *STEPS).returncode == 0
    for ws in (a, b):
        runs = json.loads(_cli(ws, state_url, "runs", "--json").stdout)
        assert sorted((r["lab"], r["status"]) for r in runs) == [("lab1_a", "ok"), ("lab2_b", "ok")]
        assert {s["name"] for s in runs[0]["steps"]} == {"check", "load"}
        status = json.loads(_cli(ws, state_url, "status", "--json").stdout)
        assert {h["lab"]: (h["state"], h["last_status"]) for h in status} == {
            "lab1_a": ("healthy", "ok"),
            "lab2_b": ("healthy", "ok"),
        }
    # the embedded history files were never written: everything went to PostgreSQL
    assert not (a.state_dir / "history.sqlite").exists() and not (b.state_dir / "history.sqlite").exists()


def test_the_same_lab_on_a_and_b_at_once_runs_exactly_once(tmp_path: Path, state_url: str, slow_api: str) -> None:
    a, b = _pair(tmp_path)
    for ws in (a, b):  # each run holds the lab for seconds: two runs started at once overlap
        _poll_slow_api(ws, "lab1_a", slow_api)
    for i in range(10):
        both = [_start(a, state_url, "lab1_a"), _start(b, state_url, "lab1_a")]
        outputs = [p.communicate(timeout=300)[0] for p in both]
        codes = sorted(p.returncode for p in both)
        assert codes == [0, 3], (i, outputs)
        busy = outputs[[p.returncode for p in both].index(3)]
        assert "is already running: held by pid " in busy and " on " in busy and " since " in busy, busy
    statuses = [r.status for r in history_for_url(state_url).lab_runs("lab1_a", last=100)]
    assert sorted(statuses) == ["busy"] * 10 + ["ok"] * 10


def history_for_url(url: str) -> History:
    return History.for_url(url)


def test_a_failed_run_on_a_opens_and_a_good_run_on_b_closes_with_one_recovery(tmp_path: Path, state_url: str) -> None:
    a, b = _pair(tmp_path, broken_on_a=("lab1_a",))
    alerts = tmp_path / "alerts.jsonl"
    for ws in (a, b):  # one log route, one file, for both machines
        (ws.root / "buildcpg.yaml").write_text(
            f"alerts:\n  routes:\n    - {{type: log, path: '{alerts}', allow_outside_workspace: true}}\n"
        )
    assert _cli(a, state_url, "run", "lab1_a", *STEPS).returncode == 1
    assert _cli(a, state_url, "run", "lab1_a", *STEPS).returncode == 1  # still failing: no second alert
    assert _cli(b, state_url, "status", "--json").returncode == 1  # B sees A's failure
    assert _cli(b, state_url, "run", "lab1_a", *STEPS).returncode == 0
    assert _cli(b, state_url, "run", "lab1_a", *STEPS).returncode == 0  # still good: no second recovery
    sent = [(x["kind"], x["state"]) for x in map(json.loads, alerts.read_text().splitlines())]
    assert sent == [("failed", "open"), ("failed", "recovered")]
    incidents = History.for_url(state_url).incidents("lab1_a")
    assert len(incidents) == 1 and incidents[0]["closed_at"] is not None


def test_racing_processes_open_and_close_an_incident_once(state_url: str) -> None:
    history = History.for_url(state_url)
    history.record_lab(history.start_run("t", 1), LabRunRecord("lab1_a", Status.OK, "2026-01-01", "2026-01-01", 1.0))

    def race(call: object) -> list[object]:
        barrier, results = threading.Barrier(8), []

        def one() -> None:
            mine = History.for_url(state_url)
            barrier.wait()
            results.append(call(mine))  # type: ignore[operator]

        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    for _ in range(5):
        opened = race(lambda h: h.open_incident("lab1_a", "failed", "boom"))
        assert opened.count(True) == 1, opened
        closed = race(lambda h: h.close_incident("lab1_a", "failed"))
        assert len([c for c in closed if c is not None]) == 1, closed
    assert [i["closed_at"] is not None for i in history.incidents("lab1_a")] == [True] * 5


def _lease_holder(state_url: str, lab: str, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with psycopg.connect(state_url) as con:
            row = (
                con.execute("select pid from lab_leases where lab = %s", (lab,)).fetchone()
                if _has_leases(con)
                else None
            )
        if row:
            return int(row[0])
        time.sleep(0.05)
    raise AssertionError(f"no run took the lease of {lab}")


def _has_leases(con: psycopg.Connection) -> bool:
    return bool(con.execute("select to_regclass('lab_leases') is not null").fetchone()[0])


def test_sigkill_of_the_lease_holder_frees_it_at_once(tmp_path: Path, state_url: str, slow_api: str) -> None:
    a, b = _pair(tmp_path)
    _poll_slow_api(a, "lab1_a", slow_api)  # A's run holds the lab for a while
    holder = _start(a, state_url, "lab1_a")
    pid = _lease_holder(state_url, "lab1_a")
    with pytest.raises(LabBusyError, match=f"held by pid {pid} on "), StateLease(state_url, "lab1_a"):
        pass  # B's view, without a process start
    os.kill(pid, signal.SIGKILL)  # the lab process itself: its session ends with it
    killed_at = time.monotonic()
    took = _cli(b, state_url, "run", "lab1_a", *STEPS)
    assert took.returncode == 0, took.stdout + took.stderr
    assert time.monotonic() - killed_at < 30  # no waiting out a timeout: the lock went with the session
    holder.communicate(timeout=120)
    assert holder.returncode != 0


def test_doctor_checks_the_state_database_in_one_line(tmp_path: Path, state_url: str) -> None:
    ws = tiny_labs_workspace(tmp_path / "ws", {"lab1_a": []})
    good = _cli(ws, state_url, "doctor")
    (line,) = [x for x in good.stdout.splitlines() if "state database" in x]
    assert line.startswith("✓ state database postgresql://postgres:***@127.0.0.1:") and "reachable" in line, line
    refused = _cli(ws, state_url.replace(PASSWORD, "not-it"), "doctor")
    assert refused.returncode != 0
    line = next(x for x in refused.stdout.splitlines() if x.startswith("✗ state database"))
    assert "password authentication failed" in line and "***" in line, refused.stdout
    port = state_url.rsplit(":", 1)[1].split("/")[0]
    gone = _cli(ws, state_url.replace(f":{port}/", ":1/"), "doctor")
    assert gone.returncode != 0
    line = next(x for x in gone.stdout.splitlines() if x.startswith("✗ state database"))
    assert "refused" in line.lower() or "failed" in line.lower(), gone.stdout
    for result in (good, refused, gone):
        assert PASSWORD not in result.stdout + result.stderr and "not-it" not in result.stdout + result.stderr
        assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("fault", ["refused", "unreachable"])
def test_a_run_with_the_state_database_down_fails_in_one_line_and_writes_nothing(
    tmp_path: Path, state_url: str, fault: str
) -> None:
    ws = tiny_labs_workspace(tmp_path / "ws", {"lab1_a": []})
    port = state_url.rsplit(":", 1)[1].split("/")[0]
    bad = state_url.replace(PASSWORD, "not-it") if fault == "refused" else state_url.replace(f":{port}/", ":1/")
    result = _cli(ws, bad, "run", "lab1_a", *STEPS)
    out = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in out, out
    assert "state database postgresql://postgres:***@127.0.0.1:" in out, out
    assert PASSWORD not in out and "not-it" not in out
    assert not (ws.root / "labs" / "lab1_a" / "data" / "lab1_a.duckdb").exists()  # no step ran
    assert not (ws.state_dir / "history.sqlite").exists()  # nothing went to the embedded history instead


HOLDER = """
import sys
from buildcpg_shared.history import History
from buildcpg_shared.run_record import LabRunRecord, Status
history = History.for_url(sys.argv[1])
run_id = history.start_run("buildcpg run", 3, lab_names=["lab1_a", "lab2_b", "lab3_c"])
history.record_lab(run_id, LabRunRecord("lab1_a", Status.OK, "2026-01-01", "2026-01-01", 1.0))
history.lab_started(run_id, "lab2_b")  # lab3_c still waits for a slot
with history.hold_run(run_id):  # as RunRecorder does for the length of a run
    print(run_id, flush=True)
    sys.stdin.read()  # until killed
"""


def test_a_run_on_another_machine_reads_running_or_queued_then_died_from_its_liveness_lock(state_url: str) -> None:
    """A process runs three labs, records one, starts the second and holds its run's liveness lock; its
    row says another host (so no process id can be looked at): readers see the second running and the
    third queued, then both died once the process is SIGKILLed (the server frees the lock: no
    heartbeat, no guess from the time)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, state_url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        run_id = holder.stdout.readline().strip()  # type: ignore[union-attr]
        with psycopg.connect(state_url, autocommit=True) as con:
            con.execute("update runs set host = 'worker-far-away.invalid' where run_id = %s", (run_id,))
        found = [u for u in History.for_url(state_url).unfinished_runs() if u.run_id == run_id]
        assert [(u.lab, u.host, u.state) for u in found] == [
            ("lab2_b", "worker-far-away.invalid", "running"),
            ("lab3_c", "worker-far-away.invalid", "queued"),
        ]
    finally:
        holder.kill()
        holder.wait(timeout=30)
    deadline = time.monotonic() + 30  # the server frees the lock when it sees the session end
    while (states := [u.state for u in History.for_url(state_url).unfinished_runs() if u.run_id == run_id]) != [
        "died",
        "died",
    ]:
        assert time.monotonic() < deadline, states
        time.sleep(0.2)


UNRECORDED = """
import sys
from buildcpg_shared.history import History
from buildcpg_shared.run_record import LabRunRecord, Status
history = History.for_url(sys.argv[1])
run_id = history.start_run("airflow lab1_a lab2_b", 2, lab_names=["lab1_a", "lab2_b"])
history.record_lab(run_id, LabRunRecord("lab1_a", Status.OK, "2026-01-01", "2026-01-01", 1.0))
print(run_id)
"""


def test_a_lab_its_run_never_recorded_is_shown_as_died_from_the_shared_history(state_url: str) -> None:
    """A process records one of its two labs in PostgreSQL and ends without recording the other (or
    its run's end, or holding its liveness lock): every reader sees that lab's run as died, not hidden."""
    done = subprocess.run(
        [sys.executable, "-c", UNRECORDED, state_url], capture_output=True, text=True, check=True, timeout=120
    )
    run_id = done.stdout.strip()
    found = [u for u in History.for_url(state_url).unfinished_runs() if u.run_id == run_id]
    assert [(u.lab, u.state) for u in found] == [("lab2_b", "died")], found
    assert History.for_url(state_url).health("lab2_b").unfinished == found[0]
