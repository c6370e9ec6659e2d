"""The per-lab write lock and the wrong-database guard."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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


def test_wait_then_acquire_after_the_holder_is_killed(tmp_path: Path) -> None:
    lock_file = tmp_path / ".buildcpg.lock"
    proc = _holder(lock_file)
    os.kill(proc.pid, signal.SIGKILL)  # a killed run leaves no stale lock
    proc.wait()
    start = time.monotonic()
    with LabLock(lock_file, "lab9_tiny", wait=5):
        assert time.monotonic() - start < 5


def test_database_outside_the_lab_is_refused(tiny_lab: Path, tmp_path: Path) -> None:
    paths = LabPaths.for_dir(tiny_lab)
    check_database_location(paths, paths.default_database)
    outside = tmp_path / "elsewhere.duckdb"
    with pytest.raises(WrongDatabaseError, match="lies outside the lab folder"):
        check_database_location(paths, outside)
    with pytest.raises(WrongDatabaseError):
        check_database_location(paths, paths.root / ".." / "other_lab" / "x.duckdb")


def test_database_of_another_lab_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    con = duckdb.connect(str(db))
    check_identity(con, "lab1_sales_performance", db)
    check_identity(con, "lab1_sales_performance", db)  # idempotent for the owner
    with pytest.raises(WrongDatabaseError, match="belongs to lab 'lab1_sales_performance', not 'lab2_forecast'"):
        check_identity(con, "lab2_forecast", db)
