"""Lab processes end with their parent `buildcpg run`, and their logs are written line by line.

A clone of lab 1 whose dbt model reads a named pipe nobody writes: its run blocks in Transform
(no CPU), like a hung query. `buildcpg run` is started on it, then stopped with a real SIGTERM
or killed with a real SIGKILL. The lab process must go away within the grace period, release the
lab lock, and the run must be recorded truthfully (history for SIGTERM, last_run.json for SIGKILL).
When the parent and the lab are SIGKILLed together (a whole process group: nothing is left to
record the end), `buildcpg runs` and `buildcpg status` must say the run died; a lab the run had not
started yet (one lab at a time) reads queued, then died before it started.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from buildcpg_shared.lab_lock import LabLock
from buildcpg_shared.testing import cli_env, clone_lab, run_cli

LAB = "lab1_sales_performance"
HANG = "lab7_hang"
GRACE = 5  # BUILDCPG_STOP_GRACE_S for these runs

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX signals")


def _hang_lab(workspace: Path, name: str) -> Path:
    """A clone of lab 1 (sharing its venv) whose Transform blocks on a pipe nobody writes."""
    lab = clone_lab(workspace / "labs" / LAB, name)
    fifo = lab / "data" / "never_written.pipe"
    os.mkfifo(fifo)
    (lab / "dbt" / "models" / "marts" / "zz_hang.sql").write_text(
        f"select * from read_csv('{fifo}', header = false, columns = {{'x': 'VARCHAR'}})\n"
    )
    return lab


@pytest.fixture
def hang(lab1_workspace: Path) -> Iterator[Path]:
    """The lab 1 workspace with lab7_hang (shares lab 1's venv); removed afterwards."""
    lab = _hang_lab(lab1_workspace, HANG)
    yield lab1_workspace
    shutil.rmtree(lab)
    shutil.rmtree(lab1_workspace / ".buildcpg" / "logs" / HANG, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _start_and_wait_for_transform(
    root: Path, *, own_group: bool = False, more: tuple[str, ...] = ()
) -> tuple[subprocess.Popen[str], int, Path]:
    """Start `buildcpg run lab7_hang` (``own_group``: in a process group of its own, which its lab
    processes join; ``more``: further arguments); return (parent, lab process pid, its log) once
    Load is logged."""
    parent = subprocess.Popen(
        [sys.executable, "-m", "buildcpg_shared.cli", "run", HANG, *more, "--no-sync"],
        cwd=root,
        env=cli_env(BUILDCPG_STOP_GRACE_S=str(GRACE)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=own_group,
    )
    logs = root / ".buildcpg" / "logs" / HANG
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        found = sorted(logs.glob("*.log")) if logs.exists() else []
        # written line by line: the Load line is in the file while the run is still going (tail -f works)
        if found and f"[{HANG}] load " in found[-1].read_text():
            break
        assert parent.poll() is None, parent.communicate()[0]
        time.sleep(0.2)
    else:
        parent.kill()
        raise AssertionError(f"the lab log never showed the Load line while running: {parent.communicate()[0]}")
    holder = json.loads((root / "labs" / HANG / "data" / ".buildcpg.holder").read_text())
    time.sleep(2)  # into Transform: blocked on the pipe
    assert parent.poll() is None and _alive(holder["pid"])
    return parent, int(holder["pid"]), found[-1]


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.2)
    return False


def _lock_is_free(root: Path) -> bool:
    with LabLock(root / "labs" / HANG / "data" / ".buildcpg.lock", HANG, wait=5):
        return True


def test_sigterm_of_the_parent_stops_the_lab_and_records_it(hang: Path) -> None:
    parent, child, log = _start_and_wait_for_transform(hang)
    parent.send_signal(signal.SIGTERM)
    out, _ = parent.communicate(timeout=GRACE + 60)
    assert parent.returncode == 1, out
    assert f"✗ {HANG}" in out and "stopped: buildcpg received SIGTERM" in out, out
    try:
        assert _gone_within(child, 10), "the lab process outlived its parent"
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)
    assert _lock_is_free(hang)
    runs = run_cli(hang, "runs", HANG, "--json")
    newest = json.loads(runs.stdout)[0]
    assert newest["status"] == "failed" and "SIGTERM" in newest["error"], newest
    assert "Traceback" not in out  # (dbt may print its own when interrupted mid-parse: that is in the log)
    assert f"[{HANG}] load " in log.read_text()


def test_sigkill_of_the_parent_stops_the_lab_which_records_it(hang: Path) -> None:
    parent, child, log = _start_and_wait_for_transform(hang)
    parent.kill()
    parent.wait(timeout=30)
    try:
        assert _gone_within(child, GRACE + 30), "the lab process outlived its SIGKILLed parent"
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)
    assert _lock_is_free(hang)
    last = json.loads((hang / "labs" / HANG / "data" / "last_run.json").read_text())
    assert last["status"] == "failed" and "buildcpg run) is gone" in last["error"], last
    assert f"[{HANG}] load " in log.read_text()


def test_sigkill_of_the_parent_and_the_lab_together_shows_the_run_as_died(hang: Path) -> None:
    parent, child, _ = _start_and_wait_for_transform(hang, own_group=True)
    running = json.loads(run_cli(hang, "runs", HANG, "--json").stdout)[0]  # (the workspace may hold older runs)
    assert (running["status"], running["pid"], running["finished_at"]) == ("running", parent.pid, None), running
    os.killpg(parent.pid, signal.SIGKILL)  # the parent, the lab process and dbt: nothing left to record
    parent.wait(timeout=30)
    assert _gone_within(child, 30)
    assert not (hang / "labs" / HANG / "data" / "last_run.json").exists()  # the lab recorded nothing itself

    died = json.loads(run_cli(hang, "runs", HANG, "--json").stdout)[0]
    assert (died["lab"], died["status"], died["pid"], died["finished_at"]) == (HANG, "died", parent.pid, None), died
    assert "ended before the lab recorded an end" in died["error"], died
    table = run_cli(hang, "runs", HANG)
    assert "died" in table.stdout, table.stdout
    status = run_cli(hang, "status", "--json")
    assert status.returncode == 1, status.stdout
    state = {h["lab"]: h for h in json.loads(status.stdout)}[HANG]
    assert state["state"] == "died" and state["unfinished"]["pid"] == parent.pid, state
    labs = {row["name"]: row for row in json.loads(run_cli(hang, "labs", "--json").stdout)}
    assert labs[HANG]["unfinished_run"]["state"] == "died", labs[HANG]
    assert f"{HANG}" in (table := run_cli(hang, "labs").stdout) and "died, started" in table, table
    assert _lock_is_free(hang)


def test_a_lab_waiting_for_a_slot_is_queued_not_running_then_died_before_it_started(hang: Path) -> None:
    waiting = "lab8_waits"
    _hang_lab(hang, waiting)  # it would hang too; with --jobs 1 it waits for lab7_hang, which never ends
    try:
        _queued_then_died(hang, waiting)
    finally:
        shutil.rmtree(hang / "labs" / waiting)


def _queued_then_died(hang: Path, waiting: str) -> None:
    # lab7_hang starts first: the longer last duration goes first (longest first), lab8_waits has none
    (hang / "labs" / HANG / "data" / "last_run.json").write_text('{"duration_s": 999}')
    parent, child, _ = _start_and_wait_for_transform(hang, own_group=True, more=(waiting, "--jobs", "1"))
    try:
        now = {r["lab"]: r for r in json.loads(run_cli(hang, "runs", "--json").stdout) if r.get("pid") == parent.pid}
        assert (now[HANG]["status"], now[waiting]["status"]) == ("running", "queued"), now
        assert "has not started the lab yet" in now[waiting]["error"], now[waiting]
        assert not (hang / ".buildcpg" / "logs" / waiting).exists()  # truly never started
        table = run_cli(hang, "runs").stdout
        assert "queued" in table and "running" in table, table
    finally:
        os.killpg(parent.pid, signal.SIGKILL)
        parent.wait(timeout=30)
        assert _gone_within(child, 30)
    after = {r["lab"]: r for r in json.loads(run_cli(hang, "runs", "--json").stdout) if r.get("pid") == parent.pid}
    assert (after[HANG]["status"], after[waiting]["status"]) == ("died", "died"), after
    assert "ended before the lab started" in after[waiting]["error"], after[waiting]
    assert "ended before the lab recorded an end" in after[HANG]["error"], after[HANG]
