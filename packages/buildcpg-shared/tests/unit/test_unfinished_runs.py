"""A lab run that never recorded its end: running while its run's process lives (queued until the run
starts it), died once it is gone.

Real processes: a child Python starts a platform run of three labs in a real history file, records
one, starts the second, leaves the third waiting; it is then SIGKILLed (nothing left to record them).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from buildcpg_shared.cli.status import health_state
from buildcpg_shared.history import History
from buildcpg_shared.history.health import UnfinishedRun
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


def test_a_lab_never_recorded_is_running_then_died_with_its_run(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    History(db)
    child = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        run_id = child.stdout.readline().strip()  # type: ignore[union-attr]
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
