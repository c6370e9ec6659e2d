"""Keep a platform run's history and send its alerts as each lab finishes."""

from __future__ import annotations

import threading
import time

from buildcpg_shared.alerts import AlertDispatcher, Delivery
from buildcpg_shared.orchestrate.history import History
from buildcpg_shared.orchestrate.parallel import LabProgress
from buildcpg_shared.registry import Lab, Workspace


class RunRecorder:
    """One platform run: a ``runs`` row, a ``lab_runs`` row per lab, incidents and alerts."""

    def __init__(self, workspace: Workspace, command: str, labs: int) -> None:
        self.workspace = workspace
        self.history = History.for_state_dir(workspace.state_dir)
        self.alerts = AlertDispatcher(workspace, self.history)
        self.run_id = self.history.start_run(command, labs)
        self.deliveries: list[Delivery] = []
        self._start = time.monotonic()
        self._lock = threading.Lock()

    def lab_done(self, lab: Lab, progress: LabProgress) -> None:
        """Record a finished lab and open or close its incidents (called from worker threads)."""
        record = progress.record()
        self.history.record_lab(self.run_id, record)
        sent = self.alerts.on_lab_result(lab, record)
        with self._lock:
            self.deliveries += sent

    def finish(self, progress: dict[str, LabProgress]) -> None:
        """Close the run and check every lab of the workspace for stale data."""
        failed = sum(1 for p in progress.values() if not p.ok and not p.busy)
        passed = sum(1 for p in progress.values() if p.ok)
        self.history.finish_run(self.run_id, passed, failed, time.monotonic() - self._start)
        for lab in self.workspace.labs():
            self.deliveries += self.alerts.check_stale(lab)
