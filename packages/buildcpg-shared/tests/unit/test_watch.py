"""Watch mode with a real watchdog observer on real folders: debounce, partial names, no doubled run."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from buildcpg_shared.orchestrate.watch import LabWatcher, is_complete_name
from buildcpg_shared.registry import Lab


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


class Recorder:
    """A run function that records calls, overlaps and can be held open."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.active = 0
        self.max_active = 0
        self.release = threading.Event()
        self.release.set()
        self._lock = threading.Lock()

    def __call__(self, lab: Lab) -> None:
        with self._lock:
            self.calls.append(time.monotonic())
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        self.release.wait(10)
        with self._lock:
            self.active -= 1


def _serve(watcher: LabWatcher) -> threading.Thread:
    thread = threading.Thread(target=watcher.serve, kwargs={"tick": 0.05}, daemon=True)
    thread.start()
    time.sleep(0.3)  # let the observer start
    return thread


def test_partial_names_are_not_complete() -> None:
    assert is_complete_name("/x/sales_1.csv")
    assert not is_complete_name("/x/sales_1.csv.part")
    assert not is_complete_name("/x/sales_1.tmp")
    assert not is_complete_name("/x/.sales_1.csv")


def test_burst_of_50_files_is_one_run(tiny_lab: Path) -> None:
    lab = Lab.from_dir(tiny_lab)
    recorder = Recorder()
    watcher = LabWatcher([lab], recorder, debounce=0.5)
    thread = _serve(watcher)
    try:
        for i in range(50):
            (lab.paths.raw_dir / f"orders_{i + 10}.csv").write_text("order_id,order_date,amount\n")
            time.sleep(0.005)
        assert _wait_for(lambda: len(recorder.calls) == 1)
        time.sleep(1.0)  # no second run for the same burst
        assert len(recorder.calls) == 1
    finally:
        watcher.stop()
        thread.join(5)
    assert not thread.is_alive()


def test_part_file_waits_for_its_rename_and_http_landings_are_ignored(tiny_lab: Path) -> None:
    lab = Lab.from_dir(tiny_lab)
    recorder = Recorder()
    watcher = LabWatcher([lab], recorder, debounce=0.2)
    thread = _serve(watcher)
    try:
        landing = lab.paths.raw_dir / "_http" / "api"
        landing.mkdir(parents=True)
        (landing / "20260101T000000Z.csv").write_text("id\n1\n")  # written by a run's own HTTP poll
        part = lab.paths.raw_dir / "orders_9.csv.part"
        part.write_text("order_id,order_date,amount\nZ1,2026-01-01,1\n")
        time.sleep(0.8)
        assert recorder.calls == []
        part.rename(lab.paths.raw_dir / "orders_9.csv")
        assert _wait_for(lambda: len(recorder.calls) == 1)
    finally:
        watcher.stop()
        thread.join(5)


def test_run_in_progress_is_never_doubled_and_changes_meanwhile_get_one_more_run(tiny_lab: Path) -> None:
    lab = Lab.from_dir(tiny_lab)
    recorder = Recorder()
    recorder.release.clear()  # the first run stays open until released
    watcher = LabWatcher([lab], recorder, debounce=0.2)
    thread = _serve(watcher)
    try:
        (lab.paths.raw_dir / "orders_2.csv").write_text("order_id,order_date,amount\n")
        assert _wait_for(lambda: len(recorder.calls) == 1)
        for i in range(5):  # more files while the run goes on
            (lab.paths.raw_dir / f"orders_3{i}.csv").write_text("order_id,order_date,amount\n")
        time.sleep(1.0)
        assert len(recorder.calls) == 1
        recorder.release.set()
        assert _wait_for(lambda: len(recorder.calls) == 2)
        time.sleep(0.6)
        assert len(recorder.calls) == 2
    finally:
        recorder.release.set()
        watcher.stop()
        thread.join(5)
    assert recorder.max_active == 1


def test_stop_waits_for_the_run_in_progress(tiny_lab: Path) -> None:
    lab = Lab.from_dir(tiny_lab)
    recorder = Recorder()
    recorder.release.clear()
    watcher = LabWatcher([lab], recorder, debounce=0.1)
    thread = _serve(watcher)
    (lab.paths.raw_dir / "orders_2.csv").write_text("order_id,order_date,amount\n")
    assert _wait_for(lambda: recorder.active == 1)
    watcher.stop()
    time.sleep(0.3)
    assert thread.is_alive()  # still waiting for the run
    recorder.release.set()
    thread.join(5)
    assert not thread.is_alive() and recorder.active == 0
