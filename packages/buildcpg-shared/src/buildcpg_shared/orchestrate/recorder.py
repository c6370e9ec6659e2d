"""One platform run (``buildcpg run``, a ``watch`` trigger, an Airflow task): its ``runs`` row and stale checks.

The lab runs themselves are recorded by the run service (``orchestrate.service``), never here.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

from buildcpg_shared.alerts import AlertDispatcher
from buildcpg_shared.history import history_for
from buildcpg_shared.orchestrate.parallel import LabProgress
from buildcpg_shared.orchestrate.service import delivery_dict
from buildcpg_shared.registry import Workspace


class RunRecorder:
    """A ``runs`` row whose id the lab processes get (``BUILDCPG_RUN_ID``), closed with the totals."""

    def __init__(self, workspace: Workspace, command: str, lab_names: Sequence[str]) -> None:
        self.workspace = workspace
        self.history = history_for(workspace)
        self.run_id = self.history.start_run(command, len(lab_names), lab_names=lab_names)
        self._alive = ExitStack()  # every machine can tell the run is going, until finish
        self._alive.enter_context(self.history.hold_run(self.run_id))
        self.deliveries: list[dict[str, Any]] = []  # every alert of the run: subject, route, ok, error
        self._start = time.monotonic()

    def finish(self, progress: dict[str, LabProgress], *, check_stale: bool = True) -> None:
        """Close the run, gather the labs' alerts and (``check_stale``) check every lab for stale data
        and for a run that died unrecorded (both alert once: an incident)."""
        failed = sum(1 for p in progress.values() if not p.ok and not p.busy)
        passed = sum(1 for p in progress.values() if p.ok)
        self.history.finish_run(self.run_id, passed, failed, time.monotonic() - self._start)
        self._alive.close()
        for p in progress.values():
            self.deliveries += p.alerts
        if check_stale:
            alerts = AlertDispatcher(self.workspace, self.history)
            for lab in self.workspace.labs():
                health = self.history.health(lab.name)  # once for both checks
                found = [*alerts.check_stale(lab, health), *alerts.check_died(lab, health)]
                self.deliveries += [delivery_dict(d) for d in found]
