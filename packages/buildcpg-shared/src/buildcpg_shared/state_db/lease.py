"""The one-writer lease of a lab across machines: a session-level PostgreSQL advisory lock.

Taken with ``pg_try_advisory_lock`` on a connection of its own that the run holds until it ends; the
server frees it the moment that session ends, so a killed process (even SIGKILL) or a lost connection
never leaves a stale lease. Who holds it (host, pid, since, command) is a ``lab_leases`` row written
under the lock, so the second caller gets the same one line as the local file lock (``lab_lock``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from sqlalchemy import Connection, delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError

from buildcpg_shared.errors import LabBusyError
from buildcpg_shared.state_db.engine import postgres_engine, state_error
from buildcpg_shared.state_db.schema import ensure_schema, lab_leases


def _advisory_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key of ``name`` (the same on every machine)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lease_key(lab_name: str) -> int:
    """The lab's lease key."""
    return _advisory_key(f"buildcpg lab {lab_name}")


def run_key(run_id: str) -> int:
    """A platform run's liveness-lock key (a namespace of its own: never a lab's lease key)."""
    return _advisory_key(f"buildcpg run {run_id}")


# is the advisory lock of this key held (by that backend, unless pid is 0)? a bigint key is classid/objid
_HELD = text(
    "select exists(select 1 from pg_locks where locktype = 'advisory' and granted and (pid = :pid or :pid = 0)"
    " and classid = :classid and objid = :objid and objsubid = 1)"
)


def lock_held(con: Connection, key: int, backend_pid: int = 0) -> bool:
    """Does a session (``backend_pid``'s, or any when 0) hold the advisory lock of ``key`` now?"""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    ids = {"classid": unsigned >> 32, "objid": unsigned & 0xFFFFFFFF, "pid": backend_pid}
    return bool(con.execute(_HELD, ids).scalar())


class _SessionLock:
    """A session-level advisory lock held on a connection of its own until ``__exit__``; a lost
    connection has already taken the lock with its session."""

    _con: Connection | None = None

    def _key(self) -> int:
        raise NotImplementedError

    def _before_unlock(self, con: Connection) -> None:
        """What to do under the lock just before freeing it (nothing by default)."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        con, self._con = self._con, None
        if con is None:
            return
        try:
            self._before_unlock(con)
            con.execute(select(func.pg_advisory_unlock(self._key())))
            con.close()
        except SQLAlchemyError:  # a lost connection: its session, and so the lock, is gone already
            with contextlib.suppress(SQLAlchemyError):
                con.invalidate()


class RunAlive(_SessionLock):
    """A platform run's process is alive, as every machine sees it: a session-level advisory lock
    (``run_key``) held on a connection of its own from the run's start to its end. The server frees it
    the moment that session ends, so a run whose process died (even SIGKILL, or with its machine,
    once the server notices the lost connection) is told from one still going without a heartbeat."""

    def __init__(self, url: str, run_id: str) -> None:
        self.url = url
        self.run_id = run_id

    def _key(self) -> int:
        return run_key(self.run_id)

    def __enter__(self) -> RunAlive:
        try:
            con = postgres_engine(self.url).connect().execution_options(isolation_level="AUTOCOMMIT")
            con.execute(select(func.pg_advisory_lock(self._key())))  # a new key: never waits
        except SQLAlchemyError as err:
            raise state_error(self.url, err) from None
        self._con = con
        return self


NAME_GRACE_S = 2.0  # how long a refused run waits for the holder's row before saying "unknown holder"


class StateLease(_SessionLock):
    """Hold the lab's lease in the state database for the length of a ``with`` block."""

    def __init__(self, url: str, lab_name: str, *, wait: float = 0.0) -> None:
        self.url = url
        self.lab_name = lab_name
        self.wait = wait

    def _key(self) -> int:
        return lease_key(self.lab_name)

    def _before_unlock(self, con: Connection) -> None:
        con.execute(delete(lab_leases).where(lab_leases.c.lab == self.lab_name, lab_leases.c.pid == os.getpid()))

    def holder(self, con: Connection) -> str | None:
        """Who holds the lease (``pid N on HOST since … (command)``), or None while no valid row names it.

        The holder writes its row just after taking the lock and deletes it just before freeing it; a
        row left by a killed holder names a session that no longer holds the lock and is ignored.
        """
        row = con.execute(select(lab_leases).where(lab_leases.c.lab == self.lab_name)).first()
        if row is None or not row.backend_pid or not lock_held(con, lease_key(self.lab_name), row.backend_pid):
            return None  # (a row without a backend pid is from before that column: it names no live session)
        return f"pid {row.pid} on {row.host} since {row.since} ({row.command})"

    def _take(self, con: Connection) -> None:
        """Take the lock, waiting up to ``wait``; busy with the holder's line. A holder that has no
        row yet (just taken) or none any more (just ending) is asked again for up to ``NAME_GRACE_S``."""
        key = lease_key(self.lab_name)
        deadline = time.monotonic() + max(self.wait, 0.0)
        while not con.execute(select(func.pg_try_advisory_lock(key))).scalar():
            holder = self.holder(con)
            now = time.monotonic()
            if now >= deadline and (holder is not None or now >= deadline + NAME_GRACE_S):
                waited = f" after waiting {self.wait:g}s" if self.wait > 0 else ""
                raise LabBusyError(
                    f"lab {self.lab_name} is already running{waited}: held by {holder or 'unknown holder'}; "
                    "wait for it to finish or pass --wait SECONDS"
                )
            time.sleep(0.2 if now < deadline else 0.05)

    def __enter__(self) -> StateLease:
        engine = postgres_engine(self.url)
        try:
            ensure_schema(engine)
            con = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as err:
            raise state_error(self.url, err) from None
        try:
            self._take(con)
            row = {
                "lab": self.lab_name,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "since": datetime.now(UTC).isoformat(timespec="seconds"),
                "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:200],
                "backend_pid": con.execute(select(func.pg_backend_pid())).scalar(),
            }
            upsert = insert(lab_leases).values(row)
            con.execute(upsert.on_conflict_do_update(index_elements=["lab"], set_=row))
        except LabBusyError:
            con.close()
            raise
        except SQLAlchemyError as err:
            with contextlib.suppress(SQLAlchemyError):
                con.invalidate()  # ends the session (not back to the pool): a lock taken just now goes with it
            raise state_error(self.url, err) from None
        self._con = con
        return self
