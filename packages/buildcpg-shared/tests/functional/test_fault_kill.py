"""Fault test: a load killed with SIGKILL mid-file, then rerun, equals a clean load (real processes,
real DuckDB files). The big file is generated with DuckDB itself so the test stays quick."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.registry import Lab
from buildcpg_shared.testing import run_lab_copy

BIG_ROWS = 3_000_000


def _counts(database: Path) -> tuple[object, ...]:
    with duckdb.connect(str(database), read_only=True) as con:
        table = con.execute("select count(*), count(distinct order_id), sum(amount) from raw.orders").fetchone()
        files = con.execute("select file, rows, rejected from _buildcpg.ledger order by file").fetchall()
        by_file = con.execute("select _source_file, count(*) from raw.orders group by 1 order by 1").fetchall()
        quarantined = con.execute("select count(*) from quarantine.orders").fetchone()
    assert [(f, r) for f, r, _ in files] == by_file  # the ledger agrees with the table, file by file
    return table, files, quarantined


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX")
def test_sigkill_mid_file_then_rerun_equals_clean_load(tiny_lab: Path, tmp_path: Path) -> None:
    big = tiny_lab / "data" / "raw" / "orders_big.csv"
    duckdb.sql(
        f"copy (select 'B' || i as order_id, date '2026-01-01' + (i % 365)::int as order_date, "
        f"(i % 1000) / 100 as amount from range({BIG_ROWS}) t(i)) to '{big}' (header true)"
    )
    # reference: a clean load of a copy, timed
    start = time.perf_counter()
    clean_lab, report = run_lab_copy(tiny_lab, tmp_path / "clean", steps=["check", "load"], echo=False)
    clean_seconds = time.perf_counter() - start
    assert report.ok, report.error  # type: ignore[attr-defined]
    clean = _counts(clean_lab.paths.database())

    lab_dir = shutil.copytree(tiny_lab, tmp_path / "killed" / tiny_lab.name)
    lab = Lab.from_dir(lab_dir)
    command = [sys.executable, "-m", "buildcpg_shared.cli.lab", "--lab-dir", str(lab_dir), "run"]
    proc = subprocess.Popen(
        [*command, "--steps", "check,load"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if " check " in line:  # Check is done (it hashed the big file); Load starts now
            break
    time.sleep(clean_seconds * 0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL

    with duckdb.connect(str(lab.paths.database()), read_only=True) as con:  # as before the big file
        files = [r[0] for r in con.execute("select file from _buildcpg.ledger").fetchall()]
        assert "orders_big.csv" not in files, "the kill came too late to be mid-file"
        assert con.execute("select count(*) from raw.orders where _source_file = 'orders_big.csv'").fetchone() == (0,)

    rerun = subprocess.run([*command, "--steps", "check,load"], capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert _counts(lab.paths.database()) == clean
    assert clean[0][0] == BIG_ROWS + 2  # type: ignore[index]
