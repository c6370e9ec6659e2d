"""Step results and the events a lab run reports (read live by the platform CLI)."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["ok", "warn", "failed", "skipped"]
STEP_NAMES = ("check", "load", "transform", "test", "inspect", "publish")
EVENT_PREFIX = "@@buildcpg "


@dataclass
class StepResult:
    """One step of one lab run: what happened, how many rows, how long."""

    name: str
    status: Status = "ok"
    duration_s: float = 0.0
    rows: int | None = None
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def format_step(lab: str, step: dict[str, Any]) -> str:
    """One human line for a finished step (used by the runner and the platform CLI alike)."""
    rows = step.get("rows")
    rows_text = f"  {rows:,} rows" if isinstance(rows, int) else ""
    line = f"[{lab}] {step['name']:<9} {step['status']:<7} {float(step['duration_s']):6.2f}s{rows_text}"
    return f"{line}  {step.get('detail', '')}".rstrip()


_STDOUT = threading.Lock()


def write_line(text: str) -> None:
    """One whole line on stdout, in one write under a lock: dbt's worker threads report models at the
    same time, and ``print`` writes the text and the newline apart (two lines could merge)."""
    with _STDOUT:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def emit(event: str, enabled: bool, **fields: Any) -> None:
    """Print one machine-readable event line (``@@buildcpg {...}``) when events are on."""
    if enabled:
        write_line(EVENT_PREFIX + json.dumps({"event": event, **fields}, default=str))


def parse_event(line: str) -> dict[str, Any] | None:
    """The event in a line of runner output, or None for ordinary output."""
    if not line.startswith(EVENT_PREFIX):
        return None
    try:
        value = json.loads(line[len(EVENT_PREFIX) :])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@contextmanager
def timed(result: StepResult) -> Iterator[StepResult]:
    """Fill ``duration_s`` of a step around a block."""
    start = time.perf_counter()
    try:
        yield result
    finally:
        result.duration_s = round(time.perf_counter() - start, 3)
