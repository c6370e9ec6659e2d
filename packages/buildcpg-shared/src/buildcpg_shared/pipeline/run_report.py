"""The outcome of one lab run and its record, ``data/last_run.json``."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from buildcpg_shared.errors import StepError
from buildcpg_shared.run_record import EndEvent, LabRunRecord, Status, StepRecord, lab_status, run_error


def now_utc() -> str:
    """The current UTC time, to the second, in ISO form (what a run report records)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class RunReport:
    """The outcome of one lab run (also written to data/last_run.json)."""

    lab: str
    run_id: str
    started_at: str
    status: Status = Status.RUNNING  # then ok | warn | failed | busy (refused: the lab was already running)
    finished_at: str = ""
    duration_s: float = 0.0
    database: str = ""
    steps: list[StepRecord] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return Status(self.status).passed

    def step(self, name: str) -> StepRecord | None:
        return next((s for s in self.steps if s.name == name), None)

    def names_with(self, status: Status) -> list[str]:
        """The steps of this run that ended with ``status`` (e.g. failed), in order."""
        return [s.name for s in self.steps if s.status == status]

    def settle(self) -> None:
        """The run's status and error from its steps (``run_record.lab_status``: the one rule)."""
        self.status = lab_status(self.steps)
        self.error = run_error(self.steps) if self.status == Status.FAILED else ""

    def record(self, log: str = "") -> LabRunRecord:
        """What the history keeps of this run: its own start time, end time and duration."""
        return LabRunRecord.from_steps(
            self.lab,
            self.status,
            started_at=self.started_at,
            finished_at=self.finished_at or self.started_at,
            duration_s=self.duration_s,
            error=self.error,
            lab_run_id=self.run_id,
            log=log,
            steps=self.steps,
        )

    def end_event(self) -> EndEvent:
        return EndEvent(
            self.lab,
            run_id=self.run_id,
            status=Status.settled(self.status),
            started_at=self.started_at,
            finished_at=self.finished_at,
            duration_s=self.duration_s,
            error=self.error,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "lab": self.lab,
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": str(self.status),
            "duration_s": self.duration_s,
            "database": self.database,
            "error": self.error,
            "steps": [s.to_dict() for s in self.steps],
        }


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write through a temporary beside ``path``; on a failed write (a full disk) no temporary stays."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise StepError(f"could not write {path}: {err.strerror or err}") from err


def write_last_run(path: Path, report: RunReport) -> None:
    """Stamp the end time and write the report; StepError (one line) when the write fails."""
    report.finished_at = now_utc()
    _write_json_atomic(path, report.to_dict())
