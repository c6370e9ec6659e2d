"""The per-lab write lock and the wrong-database guard."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.errors import LabBusyError, WrongDatabaseError
from buildcpg_shared.lab_lock import LabLock
from buildcpg_shared.pipeline.guard import check_database_location, check_identity
from buildcpg_shared.registry import LabPaths

HOLD = """
import sys, time
from pathlib import Path
from buildcpg_shared.lab_lock import LabLock
with LabLock(Path(sys.argv[1]), "lab9_tiny"):
    print("held", flush=True)
    time.sleep(60)
"""


def _holder(lock_file: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(lock_file)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_second_writer_is_refused_naming_the_holder(tmp_path: Path) -> None:
    lock_file = tmp_path / ".buildcpg.lock"
    proc = _holder(lock_file)
    try:
        with pytest.raises(LabBusyError) as info, LabLock(lock_file, "lab9_tiny"):
            pass
        assert f"pid {proc.pid}" in str(info.value)
        assert "already running" in str(info.value)
    finally:
        proc.kill()
        proc.wait()


HOLD_UNTIL_TOLD = """
import sys, time
from pathlib import Path
from buildcpg_shared.lab_lock import LabLock
with LabLock(Path(sys.argv[1]), "lab9_tiny"):
    print("held", flush=True)
    sys.stdin.readline()  # hold until the test says so
    print(f"releasing {time.time()!r}", flush=True)
"""


def test_a_waiting_writer_gets_the_lock_once_the_holder_releases_it(tmp_path: Path) -> None:
    lock_file = tmp_path / ".buildcpg.lock"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_UNTIL_TOLD, str(lock_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "held"
        still_held: list[bool] = []

        def release() -> None:
            still_held.append(proc.poll() is None)  # the holder still holds while the writer waits
            assert proc.stdin is not None
            proc.stdin.write("release\n")
            proc.stdin.flush()

        timer = threading.Timer(1.5, release)
        start = time.monotonic()
        timer.start()
        with LabLock(lock_file, "lab9_tiny", wait=30):
            acquired_at, waited = time.time(), time.monotonic() - start
        timer.join()
        released_at = float(proc.stdout.readline().split()[1])
        assert still_held == [True]
        assert waited >= 1.4  # it waited for the holder, it was not let in early
        assert acquired_at >= released_at  # and got the lock only after the holder let it go
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    lock_file = tmp_path / ".buildcpg.lock"
    proc = _holder(lock_file)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with LabLock(lock_file, "lab9_tiny"):  # no wait: free at once
        pass


def test_database_outside_the_lab_is_refused(tiny_lab: Path, tmp_path: Path) -> None:
    paths = LabPaths.for_dir(tiny_lab)
    check_database_location(paths, paths.default_database)
    outside = tmp_path / "elsewhere.duckdb"
    with pytest.raises(WrongDatabaseError, match="lies outside the lab folder"):
        check_database_location(paths, outside)
    with pytest.raises(WrongDatabaseError, match=r"other_lab/x\.duckdb lies outside the lab folder"):
        check_database_location(paths, paths.root / ".." / "other_lab" / "x.duckdb")


def test_database_of_another_lab_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    con = duckdb.connect(str(db))
    check_identity(con, "lab1_sales_performance", db)
    check_identity(con, "lab1_sales_performance", db)  # idempotent for the owner
    with pytest.raises(WrongDatabaseError, match="belongs to lab 'lab1_sales_performance', not 'lab2_forecast'"):
        check_identity(con, "lab2_forecast", db)
