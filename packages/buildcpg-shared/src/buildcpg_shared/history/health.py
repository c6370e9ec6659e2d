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
    alive: bool | None = None  # does the run's process hold its liveness lock (None: it cannot be asked)
    started: bool = True  # the run started the lab (``started_at`` is the lab's); False: it still waits

    @property
    def state(self) -> str:
        """``running`` (its run's process is alive and started the lab), ``queued`` (alive, the lab waits
        for a free slot or its upstream labs), ``died`` (the run's process is gone), or ``unknown``
        (embedded, and another host: its process cannot be looked at). The run's liveness lock says
        it: shared state from any machine (``state_db.lease.RunAlive``), embedded on the run's host
        (``history.run_alive``); a run from before those locks is judged by its process id."""
        if self.alive is not None:
            alive = self.alive
        elif self.host != socket.gethostname():
            return "unknown"
        else:
            alive = pid_alive(self.pid)
        if not alive:
            return "died"
        return "running" if self.started else "queued"

    def describe(self) -> str:
        """One line: what started it, where, and what became of it (without the state's own word)."""
        where = f"`{self.command}`, pid {self.pid} on {self.host}"
        state = self.state
        if state == "died":
            ended = "recorded an end" if self.started else "started"
            return f"its run ({where}) ended before the lab {ended}"
        if state == "running":
            return f"its run ({where}) is still going"
        if state == "queued":
            return f"its run ({where}) has not started the lab yet: it waits for a free slot or its upstream labs"
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
