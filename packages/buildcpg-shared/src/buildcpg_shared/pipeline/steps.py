"""How a lab run says what it does: whole lines on stdout, and its events (``run_record``) when on."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from buildcpg_shared.run_record import Event, StepRecord, encode

_STDOUT = threading.Lock()


def write_line(text: str) -> None:
    """One whole line on stdout, in one write under a lock: dbt's worker threads report models at the
    same time, and ``print`` writes the text and the newline apart (two lines could merge)."""
    with _STDOUT:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def emit(event: Event, enabled: bool) -> None:
    """Print one machine-readable event line (``@@buildcpg {...}``) when events are on."""
    if enabled:
        write_line(encode(event))


@contextmanager
def timed(result: StepRecord) -> Iterator[StepRecord]:
    """Fill ``duration_s`` of a step around a block."""
    start = time.perf_counter()
    try:
        yield result
    finally:
        result.duration_s = round(time.perf_counter() - start, 3)
