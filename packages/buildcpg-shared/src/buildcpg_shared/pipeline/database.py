"""The run's one write connection to the lab database, and the --full-refresh reset on it."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from buildcpg_shared.errors import (
    DamagedDatabaseError,
    StepError,
    first_line,
    is_damage,
    is_lock_conflict,
    os_problem,
)
from buildcpg_shared.ingest import ledger
from buildcpg_shared.ingest.inputs import INPUT_VERSIONS, INPUTS_SCHEMA
from buildcpg_shared.pipeline import fingerprint
from buildcpg_shared.registry.paths import LabPaths
from buildcpg_shared.schema import QUARANTINE_SCHEMA, RAW_SCHEMA

CONNECT_WAIT_S = 30.0  # how long a run waits for a reader that opened the database just before it


def connect_for_run(lab_name: str, database: Path, paths: LabPaths | None = None) -> duckdb.DuckDBPyConnection:
    """Open the lab database for writing; wait a little for a reader that opened it just before the run.

    CLI readers never open the file while the lab lock is held, but one may have opened it an
    instant before this run took the lock (or a BI tool holds it): DuckDB then refuses a writer.
    """
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StepError(f"{lab_name}: cannot create the database folder: {os_problem(err)}") from err
    deadline = time.monotonic() + CONNECT_WAIT_S
    while True:
        try:
            con = duckdb.connect(str(database))
            break
        except duckdb.Error as err:
            if is_damage(err):
                shown = paths.shown(database) if paths else str(database)
                raise DamagedDatabaseError(lab_name, shown, err) from err
            locked = is_lock_conflict(err)
            if locked and time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            why = (
                f"another process keeps it open ({first_line(err)}) for over {CONNECT_WAIT_S:g}s; close it "
                "(BI tools should read the serving copy)"
                if locked
                else first_line(err)
            )
            raise StepError(f"{lab_name}: cannot open the database {database}: {why}") from err
    con.execute("set session preserve_insertion_order = false")
    return con


def reset_for_full_refresh(con: duckdb.DuckDBPyConnection) -> None:
    """--full-refresh: rebuild raw and quarantine from the files (the files are untouched), and copy
    the inputs (other labs' published tables) again.

    One transaction (DuckDB DDL is transactional): a kill at any point leaves either the old
    raw + ledger + build state or none of them, never a ledger claiming rows raw no longer holds.
    """
    fingerprint.get_state(con, "last_good_build")  # creates the state table outside the transaction
    con.execute("begin transaction")
    try:
        ledger.keep_arrival_order(con)  # so the files load again in the order they came (ingest/ledger.py)
        for schema in (RAW_SCHEMA, QUARANTINE_SCHEMA, INPUTS_SCHEMA):  # inputs: copied again at Load
            con.execute(f"drop schema if exists {schema} cascade")
        con.execute(f"drop table if exists {ledger.LEDGER}")
        con.execute(f"drop table if exists {INPUT_VERSIONS}")
        fingerprint.set_state(con, "last_good_build", None)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def move_aside(paths: LabPaths, database: Path, purpose: str = "--rebuild") -> Path | None:
    """``--rebuild`` (or a restore, ``purpose``): move the database (and its .wal) to
    data/damaged/<name>.<UTC stamp>.duckdb; never delete.

    Returns where it went, or None when there was no database. Same file system, so a rename.
    """
    if not database.exists():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = paths.damaged_dir / f"{database.stem}.{stamp}{database.suffix}"
    wal = database.with_name(database.name + ".wal")
    try:
        paths.damaged_dir.mkdir(parents=True, exist_ok=True)
        if wal.exists():
            os.replace(wal, target.with_name(target.name + ".wal"))
        os.replace(database, target)
    except OSError as err:
        raise StepError(f"{paths.name}: cannot move the database aside for {purpose}: {os_problem(err)}") from err
    return target
