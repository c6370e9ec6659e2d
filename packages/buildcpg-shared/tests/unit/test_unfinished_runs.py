"""A lab run that never recorded its end: running while its run's process lives (queued until the run
starts it), died once it is gone.

Real processes: a child Python starts a platform run of three labs in a real history file, records
one, starts the second, leaves the third waiting; it is then SIGKILLed (nothing left to record them).
That child holds no liveness lock (as runs from before those locks): its process id decides. A
second child holds its run as ``RunRecorder`` does (a lock file the OS frees when it dies), which
no later process with the same id can be mistaken for.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from buildcpg_shared.cli.status import health_state
from buildcpg_shared.history import History
from buildcpg_shared.history.health import UnfinishedRun
from buildcpg_shared.history.run_alive import RunLockFile, run_lock_alive
from buildcpg_shared.run_record import LabRunRecord, Status

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX signals")

RUNNER = """
import sys
from pathlib import Path
from buildcpg_shared.history import History
from buildcpg_shared.run_record import LabRunRecord, Status
history = History(Path(sys.argv[1]))
run_id = history.start_run("buildcpg run lab1_a lab1_b lab1_c", 3, lab_names=["lab1_a", "lab1_b", "lab1_c"])
at = "2026-03-01T00:00:00+00:00"
history.record_lab(run_id, LabRunRecord("lab1_a", Status.OK, at, at, 1.0))
history.lab_started(run_id, "lab1_b", "2999-01-01T00:00:00+00:00")
history.lab_started(run_id, "lab1_b")  # said twice: the first start stands
print(run_id, flush=True)
sys.stdin.read()  # until killed
"""


def _start(script: str, db: Path) -> tuple[subprocess.Popen[str], str]:
    """The child running ``script`` on the history ``db``, and the run id it printed."""
    History(db)
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    return child, child.stdout.readline().strip()  # type: ignore[union-attr]


def test_a_lab_never_recorded_is_running_then_died_with_its_run(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    child, run_id = _start(RUNNER, db)
    try:
        history = History(db)
        unfinished, queued = history.unfinished_runs()
        assert (unfinished.run_id, unfinished.lab, unfinished.pid) == (run_id, "lab1_b", child.pid)
        assert unfinished.state == "running" and unfinished.started_at == "2999-01-01T00:00:00+00:00"
        assert history.health("lab1_b").unfinished == unfinished
        assert (queued.lab, queued.state) == ("lab1_c", "queued") and "has not started the lab" in queued.describe()
        assert queued.started_at != unfinished.started_at  # waiting since its run started
        assert health_state(history.health("lab1_c"), stale=False, broken=False) == "never run"
        assert health_state(history.health("lab1_b"), stale=False, broken=False) == "never run"
        assert history.health("lab1_a").unfinished is None  # lab 1_a recorded its end
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    (died,) = history.unfinished_runs("lab1_b")
    assert died.state == "died" and "ended before the lab recorded an end" in died.describe()
    assert health_state(history.health("lab1_b"), stale=False, broken=False) == "died"
    (never,) = history.unfinished_runs("lab1_c")
    assert never.state == "died" and "ended before the lab started" in never.describe()

    # a later recorded run supersedes it in the health; the history still lists it
    later = "2999-01-01T00:00:00+00:00"
    history.record_lab(
        history.start_run("t", 1, lab_names=["lab1_b"]), LabRunRecord("lab1_b", Status.OK, later, later, 1.0)
    )
    assert history.health("lab1_b").unfinished is None
    assert health_state(history.health("lab1_b"), stale=False, broken=False) == "healthy"
    assert [u.run_id for u in history.unfinished_runs("lab1_b")] == [run_id]
    assert [u.lab for u in history.unfinished_runs()] == ["lab1_b", "lab1_c"]

    # a finished run is never listed, whatever it recorded
    history.finish_run(run_id, 1, 0, 1.0)
    assert history.unfinished_runs() == []


def test_a_run_on_another_host_is_unknown_not_died() -> None:
    elsewhere = UnfinishedRun("r", "lab1_a", "airflow lab1_a", "2026-01-01T00:00:00+00:00", "no-such-host.invalid", 1)
    assert elsewhere.state == "unknown" and "another host" in elsewhere.describe()


HOLDER = """
import sys
from pathlib import Path
from buildcpg_shared.history import History
history = History(Path(sys.argv[1]))
run_id = history.start_run("buildcpg run lab1_a", 1, lab_names=["lab1_a"])
history.lab_started(run_id, "lab1_a")
with history.hold_run(run_id):
    print(run_id, flush=True)
    sys.stdin.read()  # until killed
"""


def test_a_killed_run_reads_died_even_when_its_process_id_is_taken_again(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    child, run_id = _start(HOLDER, db)
    try:
        assert run_lock_alive(tmp_path / "runs", run_id) is True
        (running,) = History(db).unfinished_runs()
        assert (running.run_id, running.state) == (run_id, "running")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert run_lock_alive(tmp_path / "runs", run_id) is False  # the OS freed it with the process
    # a reboot later, another process has the run's process id: this test's own, alive
    with sqlite3.connect(db) as con:
        con.execute("update runs set pid = ? where run_id = ?", (os.getpid(), run_id))
    (died,) = History(db).unfinished_runs()
    assert died.state == "died" and "ended before the lab recorded an end" in died.describe()


def test_a_run_that_ends_leaves_no_lock_file_and_old_runs_fall_back_to_the_process_id(tmp_path: Path) -> None:
    folder = tmp_path / "runs"
    with RunLockFile(folder, "r1"):
        assert run_lock_alive(folder, "r1") is True  # held: this very process (another open file asks)
    assert not (folder / "r1.lock").exists() and list(folder.iterdir()) == []  # no staging file left either
    assert run_lock_alive(folder, "r1") is None  # nothing to ask: the caller uses the process id


def test_a_folder_that_cannot_hold_the_lock_does_not_stop_the_run(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the runs folder should be\n")
    with RunLockFile(blocked, "r1") as lock:  # takes nothing, raises nothing
        assert run_lock_alive(blocked, "r1") is None
    assert lock.path == blocked / "r1.lock"
