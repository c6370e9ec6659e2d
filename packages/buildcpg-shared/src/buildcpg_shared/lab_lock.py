"""The per-lab write lock: one writer per lab database, on macOS and Linux alike.

Built on ``filelock`` (fcntl/msvcrt under the hood): the OS drops the lock when the holder dies,
even on SIGKILL, so a killed run never leaves a stale lock behind. Who holds it is written to a
sidecar file so the second caller can be told.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

from buildcpg_shared.errors import LabBusyError, StepError, os_problem


def pid_alive(pid: object) -> bool:
    """Is ``pid`` a live process on this host? (signal 0 checks without sending anything)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


class LabLock:
    """Hold ``data/.buildcpg.lock`` of a lab for the length of a ``with`` block."""

    def __init__(self, lock_file: Path, lab_name: str, *, wait: float = 0.0) -> None:
        self.lock_file = lock_file
        self.holder_file = lock_file.with_suffix(".holder")
        self.lab_name = lab_name
        self.wait = wait
        self._lock = FileLock(str(lock_file))

    def holder(self) -> str:
        """A description of the current holder, or 'unknown holder'."""
        try:
            info = json.loads(self.holder_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "unknown holder"
        return f"pid {info.get('pid')} on {info.get('host')} since {info.get('since')} ({info.get('command')})"

    def running_holder(self) -> str | None:
        """The holder of a run in progress, or None when no run holds the lock.

        Read without taking the lock (taking it, even for an instant, could refuse a run that starts
        then): the sidecar file names the holder and exists only while a run holds the lock; one left
        by a killed run on this host names a dead process and is ignored.
        """
        try:
            info = json.loads(self.holder_file.read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError):  # no holder, or no data folder at all
            return None
        except (OSError, ValueError):
            return "unknown holder"
        if info.get("host") == socket.gethostname() and not pid_alive(info.get("pid")):
            return None
        return self.holder()

    def __enter__(self) -> LabLock:
        try:
            self.lock_file.parent.mkdir(parents=True, exist_ok=True)
            self._lock.acquire(timeout=self.wait if self.wait > 0 else 0, poll_interval=0.2)
        except Timeout:  # before OSError: filelock's Timeout is a TimeoutError, an OSError
            waited = f" after waiting {self.wait:g}s" if self.wait > 0 else ""
            raise LabBusyError(
                f"lab {self.lab_name} is already running{waited}: held by {self.holder()}; "
                "wait for it to finish or pass --wait SECONDS"
            ) from None
        except OSError as err:
            raise StepError(
                f"lab {self.lab_name}: cannot take the lab lock: {os_problem(err, self.lock_file)}"
            ) from err
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:200],
        }
        try:
            self.holder_file.write_text(json.dumps(info), encoding="utf-8")
        except OSError as err:
            self.holder_file.unlink(missing_ok=True)  # a half-written holder would name nobody
            self._lock.release()
            raise StepError(
                f"lab {self.lab_name}: cannot take the lab lock: {os_problem(err, self.holder_file)}"
            ) from err
        self._acquired_at = time.monotonic()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.holder_file.unlink(missing_ok=True)
        self._lock.release()
