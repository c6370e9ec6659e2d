"""A lab run ends with the process that started it, and records how it ended.

- SIGTERM and SIGHUP interrupt the run like Ctrl-C: the runner records it as ``interrupted``
  (data/last_run.json), releases the lab lock and exits; committed files stay loaded.
- With ``--stop-with-parent`` (``buildcpg run`` passes it and keeps the child's stdin open without
  writing), the end of stdin means the parent is gone, even when it was SIGKILLed: the run stops
  its output (nobody reads it any more), interrupts itself and, if it is stuck past the grace
  period, records the stop and exits. Portable: no prctl, no /proc.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from buildcpg_shared.pipeline.runner import LabRunner

GRACE_ENV = "BUILDCPG_STOP_GRACE_S"
DEFAULT_GRACE_S = 10.0
PARENT_GONE = "the process that started it (buildcpg run) is gone"


def stop_grace_s() -> float:
    """Seconds a stopped lab run gets to end on its own before it is killed (``BUILDCPG_STOP_GRACE_S``)."""
    try:
        return float(os.environ.get(GRACE_ENV, "") or DEFAULT_GRACE_S)
    except ValueError:
        return DEFAULT_GRACE_S


def interrupt_on_signals() -> None:
    """SIGTERM and SIGHUP raise KeyboardInterrupt in the main thread, as Ctrl-C does."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, handler)


def _silence_output() -> None:
    """Point stdout and stderr at the null device: the pipe to the dead parent would break every print."""
    with open(os.devnull, "w", encoding="utf-8") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
    for stream in (sys.stdout, sys.stderr):  # what is still buffered goes to the null device too
        with contextlib.suppress(OSError, ValueError):
            stream.flush()


def _stdin_fd() -> int | None:
    try:
        return sys.stdin.fileno() if sys.stdin else None
    except (OSError, ValueError):
        return None


def _watch(runner: LabRunner) -> None:
    # os.read on the descriptor, not sys.stdin.buffer: a daemon thread blocked inside the buffered
    # reader holds its lock, and the interpreter's shutdown then aborts ("Fatal Python error:
    # _enter_buffered_busy ... <stdin>") even after a successful run.
    fd = _stdin_fd()
    while fd is not None:
        try:
            if not os.read(fd, 4096):
                break  # end of stream: the parent is gone
        except OSError:
            break
    _silence_output()
    runner.stop_reason = PARENT_GONE
    _thread.interrupt_main()  # KeyboardInterrupt in the run: it records 'interrupted' and ends
    time.sleep(stop_grace_s())
    # still here: stuck in a call that cannot be interrupted (e.g. a read that never returns)
    runner.record_stopped(PARENT_GONE)
    os._exit(1)


def stop_with_parent(runner: LabRunner) -> None:
    """Watch stdin in a daemon thread; its end stops the run (see the module docstring)."""
    threading.Thread(target=_watch, args=(runner,), name="stop-with-parent", daemon=True).start()
