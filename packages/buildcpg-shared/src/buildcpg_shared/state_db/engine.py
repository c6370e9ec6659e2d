"""Engines of the state database: a SQLite file (WAL, busy timeout, ``BEGIN IMMEDIATE``) or PostgreSQL.

One engine per URL and process. SQLite gets a fresh connection per transaction (``NullPool``, as the
stdlib code before it: a file replaced under a long-lived process is simply reopened); PostgreSQL a
small pool (``pool_pre_ping``: a restarted server costs a reconnect, not an error).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import NullPool

from buildcpg_shared.config.shared import masked
from buildcpg_shared.errors import StateError, first_line

BUSY_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 5
_engines: dict[str, Engine] = {}


def _set_wal(con: sqlite3.Connection, wait_s: float = BUSY_TIMEOUT_S) -> None:
    """Switch the file to WAL. Several processes creating the history at once can see "database is
    locked" here: SQLite does not apply the busy timeout to this pragma, so it is retried."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            con.execute("pragma journal_mode=wal")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def sqlite_engine(path: Path) -> Engine:
    """The engine of a history file: WAL (persistent: readers never block the writer), a 30 s busy
    timeout, and every transaction ``BEGIN IMMEDIATE`` (writers queue instead of failing on upgrade)."""
    key = f"sqlite:{path}"
    engine = _engines.get(key)
    if engine is None:
        engine = create_engine(f"sqlite:///{path}", poolclass=NullPool, connect_args={"timeout": BUSY_TIMEOUT_S})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_con: Any, _record: Any) -> None:
            dbapi_con.isolation_level = None  # the driver's own BEGIN is off: ours is IMMEDIATE
            dbapi_con.execute(f"pragma busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("begin immediate")

        _engines[key] = engine
    return engine


def prepare_sqlite(path: Path) -> int:
    """Create the file if needed, switch it to WAL, and return its schema version (0: none yet).

    One stdlib connection, as cheap as the code before versions: a history already at the current
    version needs nothing else before its first transaction.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    try:
        con.execute(f"pragma busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        _set_wal(con)
        try:
            return int(con.execute("select max(version) from schema_version").fetchone()[0] or 0)
        except sqlite3.OperationalError:  # no schema_version table: a new file, or one from before versions
            return 0
    finally:
        con.close()


def postgres_engine(url: str) -> Engine:
    """The engine of a ``postgresql://`` state URL (driver psycopg 3); nothing is connected yet."""
    engine = _engines.get(url)
    if engine is None:
        parts = urlsplit(url)
        driver_url = parts._replace(scheme="postgresql+psycopg").geturl()
        engine = create_engine(
            driver_url,
            pool_size=2,
            max_overflow=4,
            pool_pre_ping=True,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "buildcpg"},
        )
        _engines[url] = engine
    return engine


def state_error(url: str, err: BaseException) -> StateError:
    """One line for a failed use of the state database: where (password masked) and the driver's reason."""
    reason = first_line(getattr(err, "orig", None) or err)
    password = urlsplit(url).password
    for secret in {password, unquote(password)} if password else ():
        reason = reason.replace(secret, "***")
    return StateError(f"state database {masked(url)}: {reason}")
