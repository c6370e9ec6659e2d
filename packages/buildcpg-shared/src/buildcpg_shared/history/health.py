"""What the history says of a lab (``LabHealth``) and its timestamps: no database code, cheap to import."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import UTC, datetime

from buildcpg_shared.lab_lock import pid_alive


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class UnfinishedRun:
    """A lab a platform run started and never recorded: still running, or killed with its run.

    A lab process records its own end, and the process that started it records what the lab could
    not (killed, timed out); only when both die (a machine gone, ``kill -9`` of the whole group) is
    nothing recorded. The ``runs`` row says which process ran it; with shared state its liveness lock
    says whether that process still lives, from any machine.
    """

    run_id: str
    lab: str
    command: str
    started_at: str
    host: str
    pid: int
    alive: bool | None = None  # shared state: does the run's process hold its liveness lock (None: embedded)

    @property
    def state(self) -> str:
        """``running`` (its run's process is alive), ``died`` (it is gone), or ``unknown`` (embedded, and
        another host: its process cannot be looked at). Shared state knows from any machine (the run's
        liveness lock, ``state_db.lease.RunAlive``); embedded, the process id is checked on its host."""
        if self.alive is not None:
            return "running" if self.alive else "died"
        if self.host != socket.gethostname():
            return "unknown"
        return "running" if pid_alive(self.pid) else "died"

    def describe(self) -> str:
        """One line: what started it, where, and what became of it (without the state's own word)."""
        where = f"`{self.command}`, pid {self.pid} on {self.host}"
        if self.state == "died":
            return f"its run ({where}) ended before the lab recorded an end"
        if self.state == "running":
            return f"its run ({where}) is still going"
        return f"its run ({where}) recorded no end; on another host, so whether it still runs is unknown"


@dataclass(frozen=True)
class LabHealth:
    """Health of one lab from its history."""

    lab: str
    last_run: str | None
    last_status: str | None
    last_success: str | None
    failures_in_a_row: int
    open_incidents: tuple[str, ...]
    last_error: str = ""  # why the last run failed or was skipped
    unfinished: UnfinishedRun | None = None  # a later attempt with no recorded end (running, or died)

    def hours_since_success(self, now: datetime | None = None) -> float | None:
        if not self.last_success:
            return None
        return ((now or datetime.now(UTC)) - datetime.fromisoformat(self.last_success)).total_seconds() / 3600
