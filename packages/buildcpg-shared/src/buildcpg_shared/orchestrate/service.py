"""The one run service: every way to run a lab ends here, so every run is recorded and alerts alike.

``run_lab`` takes the lab lock and runs the steps (``LabRunner``), then ``record_lab_run`` writes the
run to ``.buildcpg/history.sqlite`` (the same start time and duration as ``data/last_run.json``),
opens or closes the lab's incidents and sends their alerts. ``buildcpg-lab run`` (and so ``make run``
in a lab) calls ``run_lab`` in the lab's venv; ``buildcpg run``, ``buildcpg watch`` and the Airflow
task start that same command as a child process and call ``record_lab_run`` only for what the child
could not record itself (killed, timed out, never started): it says ``recorded`` when it did, so a
run is never recorded twice.

A parent passes its platform run id in ``BUILDCPG_RUN_ID`` so the child's row joins that run
(without it the run gets a ``runs`` row of its own), and its log file in ``BUILDCPG_LAB_LOG``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from buildcpg_shared.alerts import AlertDispatcher, Delivery
from buildcpg_shared.errors import BuildCPGError, first_line
from buildcpg_shared.history import history_for
from buildcpg_shared.pipeline.steps import emit
from buildcpg_shared.registry import Lab, Workspace
from buildcpg_shared.registry.workspace import find_workspace_root
from buildcpg_shared.run_record import AlertEvent, LabRunRecord, RecordedEvent, Status

if TYPE_CHECKING:  # the runner (duckdb, ingest, quality, …) is imported only where a lab runs
    from buildcpg_shared.pipeline.runner import LabRunner, RunReport

RUN_ID_ENV = "BUILDCPG_RUN_ID"
LOG_ENV = "BUILDCPG_LAB_LOG"  # the log file the parent writes the lab's output to (kept with the record)


@dataclass
class LabRunOutcome:
    """A finished lab run: the runner's report, what the history kept, the alerts sent."""

    report: RunReport
    record: LabRunRecord | None = None  # None: not recorded (no workspace, or the history failed)
    deliveries: list[Delivery] = field(default_factory=list)
    note: str = ""  # why it was not recorded


def delivery_dict(delivery: Delivery) -> dict[str, Any]:
    """An alert delivery as plain data (the ``alert`` event, the CLI's lines)."""
    return {"subject": delivery.alert.subject, "route": delivery.route, "ok": delivery.ok, "error": delivery.error}


def delivery_line(delivery: dict[str, Any]) -> str:
    """``alert <subject> → <route>: sent`` (or ``NOT sent (<why>)``)."""
    mark = "sent" if delivery.get("ok") else f"NOT sent ({delivery.get('error', '')})"
    return f"alert {delivery.get('subject', '')} → {delivery.get('route', '')}: {mark}"


def record_lab_run(
    workspace: Workspace, lab: Lab, record: LabRunRecord, *, run_id: str = "", command: str = ""
) -> list[Delivery]:
    """Write one lab run to the history and open/close its incidents (sending their alerts).

    With ``run_id`` the row joins that platform run; without, the run gets a ``runs`` row of its own.
    """
    history = history_for(workspace)
    own = not run_id
    if own:
        run_id = history.start_run(command or f"run {lab.name}", 1, started_at=record.started_at, lab_names=[lab.name])
    dispatcher = AlertDispatcher(workspace, history)  # buildcpg.yaml read before anything is written
    history.record_lab(run_id, record)
    deliveries = dispatcher.on_lab_result(lab, record)
    if own:
        passed = int(record.status.passed)
        history.finish_run(run_id, passed, int(record.status == Status.FAILED), record.duration_s)
    return deliveries


def record_lab_start(workspace: Workspace, lab: Lab, run_id: str, started_at: str) -> None:
    """The platform run ``run_id`` starts ``lab`` now: readers see it ``running``, no longer ``queued``.

    A history that cannot be written is not said here: the lab's end cannot be recorded either, and
    that is said once, where it is recorded."""
    with contextlib.suppress(sqlite3.Error, OSError, BuildCPGError):
        history_for(workspace).lab_started(run_id, lab.name, started_at)


def lab_workspace(lab: Lab) -> Workspace | None:
    """The workspace the lab belongs to, or None for a lab outside any workspace (not recorded)."""
    try:
        workspace = Workspace(find_workspace_root(lab.paths.root))
    except BuildCPGError:
        return None
    if lab.paths.root.resolve().parent != workspace.labs_dir.resolve():
        return None
    return workspace


def run_lab(
    lab: Lab,
    *,
    events: bool = False,
    before_run: Callable[[LabRunner], None] = lambda runner: None,
    command: str = "",
    **options: Any,
) -> LabRunOutcome:
    """Run the lab (lab lock, steps) and record it: history, incidents, alerts. Never raises for a failed run.

    ``options`` are ``LabRunner``'s (steps, full_refresh, wait, threads, echo); ``before_run`` gets the
    runner first (signal handlers, stop-with-parent). With ``events`` it says ``alert`` per delivery
    and ``recorded`` once the history has the run.
    """
    from buildcpg_shared.pipeline.runner import LabRunner

    workspace = lab_workspace(lab)
    if workspace is not None:
        workspace.config  # noqa: B018 - a broken buildcpg.yaml: one line, before the lab runs (nothing recorded)
    lease = workspace.shared.state if workspace is not None else None  # one writer across machines
    runner = LabRunner(lab, events=events, lease=lease, **options)
    before_run(runner)
    report = runner.run()
    outcome = LabRunOutcome(report)
    if workspace is None:
        outcome.note = f"{lab.paths.root} is not a lab of a workspace: the run is not in any history"
        return outcome
    record = report.record(log=os.environ.get(LOG_ENV, ""))
    try:
        outcome.deliveries = record_lab_run(
            workspace, lab, record, run_id=os.environ.get(RUN_ID_ENV, ""), command=command or _command()
        )
    except (sqlite3.Error, OSError, BuildCPGError) as err:  # the parent (if any) records it instead
        where = "the shared history" if lease else str(workspace.state_dir / "history.sqlite")
        outcome.note = f"the run could not be recorded in {where}: {first_line(err)}"
        return outcome
    outcome.record = record
    for d in outcome.deliveries:
        emit(AlertEvent(lab.name, d.alert.subject, d.route, d.ok, d.error or ""), events)
    emit(RecordedEvent(lab.name, report.run_id), events)
    return outcome


def _command() -> str:
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:500]
