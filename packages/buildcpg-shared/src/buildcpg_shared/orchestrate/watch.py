"""Watch labs' raw folders and run a lab when a complete new or changed file arrives.

Events are debounced per lab: a lab runs once its raw folder has been quiet for ``debounce``
seconds, so a burst of 50 files is one run. A lab never has two runs at once: while one goes,
new events only mark the lab for one more run afterwards (and the lab lock refuses any other
writer). Partial names (``.part``, ``.tmp``, dot-files) are ignored, and so is ``data/raw/_http``
(HTTP landings are written by runs themselves); files still being written when a run starts are
held back by the runner's CSVMonitor and picked up by the next run.

A lab that reads other labs (lab.yaml ``inputs``) also runs when one of them publishes a new
version: the watcher watches each upstream's ``data/serving/`` folder for its serving copy being
swapped in (publish renames the finished file over it), debounced like raw files.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from buildcpg_shared.ingest.check import PARTIAL_SUFFIXES
from buildcpg_shared.ingest.http_source import HTTP_DIR
from buildcpg_shared.ingest.inputs import upstream_paths
from buildcpg_shared.orchestrate.graph import upstreams_of
from buildcpg_shared.registry import Lab


def is_complete_name(path: str) -> bool:
    """False for names that mark a file still being written (or hidden)."""
    name = Path(path).name
    return bool(name) and not name.startswith(".") and not name.lower().endswith(PARTIAL_SUFFIXES)


@dataclass
class _LabState:
    lab: Lab
    last_event: float = 0.0
    dirty: bool = False
    running: bool = False
    runs: int = 0


class _Handler(FileSystemEventHandler):
    def __init__(self, state: _LabState, lock: threading.Lock) -> None:
        self.state = state
        self.lock = lock

    def _is_landing(self, path: Path) -> bool:
        try:
            return path.relative_to(self.state.lab.paths.raw_dir).parts[:1] == (HTTP_DIR,)
        except ValueError:
            return False

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type in ("opened", "closed_no_write"):
            return
        path = str(getattr(event, "dest_path", "") or event.src_path)
        if not is_complete_name(path) or self._is_landing(Path(path)):
            return
        _mark(self.state, self.lock)


def _mark(state: _LabState, lock: threading.Lock) -> None:
    with lock:
        state.dirty = True
        state.last_event = time.monotonic()


class _UpstreamHandler(FileSystemEventHandler):
    """Marks the labs that read an upstream when its serving copy is replaced (a new publish)."""

    def __init__(self, serving_file: Path, readers: list[_LabState], lock: threading.Lock) -> None:
        self.serving_file = serving_file
        self.readers = readers
        self.lock = lock

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type not in ("created", "moved", "modified", "closed"):
            return
        if Path(str(getattr(event, "dest_path", "") or event.src_path)).name != self.serving_file.name:
            return  # the .tmp being written, its WAL: not a publish yet
        for state in self.readers:
            _mark(state, self.lock)


class LabWatcher:
    """Triggers ``run(lab)`` for labs whose raw folder changed, debounced, one run per lab at a time."""

    def __init__(self, labs: list[Lab], run: Callable[[Lab], object], *, debounce: float = 2.0) -> None:
        self.run = run
        self.debounce = debounce
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._states = {lab.name: _LabState(lab) for lab in labs}
        self._observer = Observer()
        self._workers: list[threading.Thread] = []
        readers: dict[Path, list[_LabState]] = {}
        for state in self._states.values():
            state.lab.paths.raw_dir.mkdir(parents=True, exist_ok=True)
            self._observer.schedule(_Handler(state, self._lock), str(state.lab.paths.raw_dir), recursive=True)
            for upstream in upstreams_of(state.lab):
                readers.setdefault(upstream_paths(state.lab.paths, upstream).serving_file, []).append(state)
        for serving_file, states in readers.items():
            serving_file.parent.mkdir(parents=True, exist_ok=True)
            handler = _UpstreamHandler(serving_file, states, self._lock)
            self._observer.schedule(handler, str(serving_file.parent), recursive=False)

    def runs(self, lab: str) -> int:
        """How many runs of ``lab`` have been started so far."""
        return self._states[lab].runs

    def _due(self) -> list[_LabState]:
        now = time.monotonic()
        due = []
        with self._lock:
            for state in self._states.values():
                if state.dirty and not state.running and now - state.last_event >= self.debounce:
                    state.dirty, state.running = False, True
                    state.runs += 1
                    due.append(state)
        return due

    def _run(self, state: _LabState) -> None:
        try:
            self.run(state.lab)
        finally:
            with self._lock:
                state.running = False

    def start(self) -> None:
        """Start watching (returns at once; events from now on are seen). Idempotent."""
        if not self._observer.is_alive():
            self._observer.start()

    def poll(self) -> None:
        """Start the runs that are due (called in a loop by ``serve``)."""
        for state in self._due():
            worker = threading.Thread(target=self._run, args=(state,), name=f"watch-{state.lab.name}", daemon=True)
            self._workers.append(worker)
            worker.start()
        self._workers = [w for w in self._workers if w.is_alive()]

    def serve(self, tick: float = 0.2) -> None:
        """Watch until ``stop()`` (or Ctrl-C, which the caller turns into ``stop()``)."""
        self.start()
        try:
            while not self._stop.wait(tick):
                self.poll()
        finally:
            self.close()

    def stop(self) -> None:
        """Ask ``serve`` to return."""
        self._stop.set()

    def close(self, timeout: float | None = None) -> None:
        """Stop watching and wait for runs in progress to finish."""
        self._stop.set()
        self._observer.stop()
        self._observer.join(timeout=5)
        for worker in self._workers:
            worker.join(timeout=timeout)
