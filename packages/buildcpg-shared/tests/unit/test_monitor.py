"""CSVMonitor and the read-only ledger used by `buildcpg check`: real files, real DuckDB, real processes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.errors import LabBusyError
from buildcpg_shared.ingest import ledger
from buildcpg_shared.ingest.monitor import CSVMonitor
from buildcpg_shared.registry import Lab


def test_file_still_growing_is_held_back_then_picked_up(tiny_lab: Path) -> None:
    lab = Lab.from_dir(tiny_lab)
    growing = lab.paths.raw_dir / "orders_2.csv"
    growing.write_text("order_id,order_date,amount\n")
    stop = threading.Event()

    def writer() -> None:
        with growing.open("a") as handle:
            i = 0
            while not stop.is_set():
                handle.write(f"G{i},2026-01-01,1.00\n")
                handle.flush()
                i += 1
                time.sleep(0.01)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(0.05)
        plan = CSVMonitor(lab.paths.raw_dir, lab.config, interval=0.2).check({})
    finally:
        stop.set()
        thread.join()
    assert [f.rel for f in plan.in_progress] == ["orders_2.csv"]
    assert [f.rel for f in plan.new] == ["orders_1.csv"]
    plan = CSVMonitor(lab.paths.raw_dir, lab.config, interval=0.2).check({})
    assert plan.in_progress == [] and [f.rel for f in plan.new] == ["orders_1.csv", "orders_2.csv"]


def test_settle_window_holds_back_a_just_written_file(tiny_lab: Path) -> None:
    lab = Lab.from_dir(tiny_lab)
    (lab.paths.raw_dir / "orders_2.csv").write_text("order_id,order_date,amount\n")
    plan = CSVMonitor(lab.paths.raw_dir, lab.config, interval=0, settle=30).check({})
    assert {f.rel for f in plan.in_progress} == {"orders_1.csv", "orders_2.csv"}


def test_ledger_of_a_lab_being_written_is_one_clear_line(tmp_path: Path) -> None:
    database = tmp_path / "lab.duckdb"
    with duckdb.connect(str(database)) as con:
        ledger.ensure_ledger(con)
    assert ledger.read_ledger_file(database, "lab9_tiny") == {}
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(database)!r}); print('ok', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        with pytest.raises(LabBusyError, match=r"lab lab9_tiny is being written by a run right now"):
            ledger.read_ledger_file(database, "lab9_tiny")
    finally:
        holder.kill()
        holder.wait()
    assert ledger.read_ledger_file(tmp_path / "missing.duckdb", "lab9_tiny") == {}


def test_files_nobody_wrote_to_lately_are_not_waited_for(tiny_lab: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from buildcpg_shared.ingest import monitor

    lab = Lab.from_dir(tiny_lab)
    old = time.time() - 60
    os.utime(lab.paths.raw_dir / "orders_1.csv", (old, old))

    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"waited {seconds}s for a file last written a minute ago")

    monkeypatch.setattr(monitor.time, "sleep", no_sleep)
    plan = CSVMonitor(lab.paths.raw_dir, lab.config, interval=0.2).check({})
    assert [f.rel for f in plan.new] == ["orders_1.csv"] and plan.in_progress == []


def _with_source_options(tiny_lab: Path, options: str) -> Lab:
    text = (tiny_lab / "lab.yaml").read_text().replace("    primary_key", f"{options}    primary_key")
    (tiny_lab / "lab.yaml").write_text(text)
    return Lab.from_dir(tiny_lab)


def test_settle_window_is_a_source_setting(tiny_lab: Path) -> None:
    """A writer that pauses longer than the default stat interval: the source's settle holds it back."""
    lab = _with_source_options(tiny_lab, "    settle: 30\n")
    (lab.paths.raw_dir / "orders_2.csv").write_text("order_id,order_date,amount\n")
    plan = CSVMonitor(lab.paths.raw_dir, lab.config, interval=0).check({})
    assert {f.rel for f in plan.in_progress} == {"orders_1.csv", "orders_2.csv"}
    assert plan.pending == []
    relaxed = _with_source_options(tiny_lab, "    settle: 0\n").config  # the default: no wait
    assert relaxed.sources["orders"].settle == 0
    plan = CSVMonitor(lab.paths.raw_dir, Lab.from_dir(tiny_lab).config, interval=0).check({})
    assert [f.rel for f in plan.pending] == ["orders_1.csv", "orders_2.csv"]


@pytest.mark.parametrize(("marker", "marker_file"), [("{name}.ok", "orders_2.csv.ok"), ("_SUCCESS", "_SUCCESS")])
def test_a_file_waits_for_its_completion_marker(tiny_lab: Path, marker: str, marker_file: str) -> None:
    lab = _with_source_options(tiny_lab, f'    marker: "{marker}"\n')
    raw_dir = lab.paths.raw_dir
    (raw_dir / "orders_2.csv").write_text("order_id,order_date,amount\nB1,2026-01-01,1\n")
    plan = CSVMonitor(raw_dir, lab.config, interval=0).check({})
    assert plan.pending == [] and plan.new == []
    assert sorted(f.rel for f in plan.waiting) == ["orders_1.csv", "orders_2.csv"]
    (raw_dir / marker_file).write_text("")
    plan = CSVMonitor(raw_dir, lab.config, interval=0).check({})
    expected = ["orders_1.csv", "orders_2.csv"] if marker == "_SUCCESS" else ["orders_2.csv"]
    assert [f.rel for f in plan.pending] == expected
    assert [f.rel for f in plan.waiting] == (["orders_1.csv"] if marker != "_SUCCESS" else [])


def test_check_cli_lists_files_waiting_for_their_marker(tiny_lab: Path) -> None:
    from buildcpg_shared.testing import run_cli

    _with_source_options(tiny_lab, '    marker: "{name}.ok"\n')
    checked = run_cli(tiny_lab.parents[1], "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr  # nothing to load yet
    assert "waiting  data/raw/orders_1.csv  (orders; no orders_1.csv.ok yet)" in checked.stdout
