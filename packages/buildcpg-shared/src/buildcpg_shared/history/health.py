"""What the history says of a lab (``LabHealth``) and its timestamps: no database code, cheap to import."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


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

    def hours_since_success(self, now: datetime | None = None) -> float | None:
        if not self.last_success:
            return None
        return ((now or datetime.now(UTC)) - datetime.fromisoformat(self.last_success)).total_seconds() / 3600
