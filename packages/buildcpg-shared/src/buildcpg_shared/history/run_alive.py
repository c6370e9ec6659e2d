"""An embedded platform run says it is alive with a locked file that the OS frees when its process dies.

``.buildcpg/runs/<run_id>.lock``: taken by the run (``RunRecorder`` through ``History.hold_run``) for its
whole length, removed at its end. A reader tries the lock without waiting: held means the run's
process lives; free means it died (SIGKILL, out of memory, a reboot). Unlike a process id, a lock
cannot be mistaken for an unrelated process that got the same id after a reboot. The PostgreSQL
counterpart is ``state_db.lease.RunAlive``.

``fcntl.flock`` (macOS and Linux alike). The file is locked under a temporary name and then renamed
into place, so a reader never finds it unlocked while its run is starting.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType


def run_lock_path(folder: Path, run_id: str) -> Path:
    return folder / f"{run_id}.lock"


class RunLockFile:
    """Hold ``<folder>/<run_id>.lock`` for the length of a ``with`` block."""

    def __init__(self, folder: Path, run_id: str) -> None:
        self.path = run_lock_path(folder, run_id)
        self._fd: int | None = None

    def __enter__(self) -> RunLockFile:
        """Take it; a folder that cannot hold it (read-only, full) takes nothing, and readers fall
        back to the run's process id: the run itself goes on."""
        staging = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        fd = -1
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(staging, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else has it
            os.replace(staging, self.path)  # the lock stays with the file under its new name
        except OSError:
            if fd >= 0:
                os.close(fd)
            with contextlib.suppress(OSError):
                staging.unlink(missing_ok=True)
            return self
        self._fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)  # before unlocking: no reader finds it free and says "died"
        os.close(self._fd)
        self._fd = None


def run_lock_alive(folder: Path, run_id: str) -> bool | None:
    """Is the run's process alive? True: it holds its lock file; False: the file is there and free
    (its process died without ending the run); None: no file to ask (a run from before lock files,
    or one that could not make it): the caller falls back to the process id."""
    try:
        fd = os.open(run_lock_path(folder, run_id), os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # shared: a read-only file is enough to ask
    except BlockingIOError:
        return True
    except OSError:
        return None
    finally:
        os.close(fd)  # closing drops a lock this reader took
    return False
