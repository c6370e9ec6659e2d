"""Open a lab's database read-only for the platform commands, falling back to the serving copy.

While a run holds the lab lock, a reader never opens the working database: even a ``read_only``
open would hold DuckDB's file lock and could stop the run from writing. The reader is told so in
one clear line and reads the last publish instead, when there is one: the serving copy's gold and
the metadata published beside it (``data/.publish/<lab>.meta.duckdb``), both attached read-only
and seen through views under their usual names (``gold.*``, ``_buildcpg.*``).

A damaged database (corrupt or truncated) is one line naming the file and ``--rebuild``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from buildcpg_shared.errors import (
    DamagedDatabaseError,
    LabBusyError,
    StepError,
    first_line,
    is_damage,
    is_lock_conflict,
)
from buildcpg_shared.lab_lock import LabLock
from buildcpg_shared.registry import Lab
from buildcpg_shared.schema import qualified, quote_ident

_PID = re.compile(r"PID (\d+)")


@dataclass
class LabReader:
    """A read-only connection to a lab's data and where it comes from."""

    con: duckdb.DuckDBPyConnection
    source: str  # "database" or "serving"
    note: str = ""

    def close(self) -> None:
        self.con.close()


def _writer(lab: Lab, message: str) -> str:
    holder = LabLock(lab.paths.lock_file, lab.name).holder()
    if holder != "unknown holder":
        return holder
    match = _PID.search(message)
    return f"pid {match.group(1)}" if match else "another process"


def is_lock_error(err: duckdb.Error) -> bool:
    return is_lock_conflict(err)


def running_run(lab: Lab) -> str | None:
    """Who runs the lab right now (holds its lab lock), or None; read without touching the database."""
    return LabLock(lab.paths.lock_file, lab.name).running_holder()


def damaged(lab: Lab, err: BaseException) -> DamagedDatabaseError:
    """The one line of a damaged lab database (``buildcpg run LAB --rebuild``)."""
    return DamagedDatabaseError(lab.name, lab.paths.shown(lab.paths.database()), err)


def _published(lab: Lab) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with views on the serving copy's gold and the published metadata."""
    con = duckdb.connect(":memory:")
    try:
        sources = [("buildcpg_serving", lab.paths.serving_file), ("buildcpg_meta", lab.paths.serving_meta_file)]
        for alias, path in sources:
            if alias == "buildcpg_serving" or path.is_file():
                _view_all(con, alias, path)
    except BaseException:
        con.close()
        raise
    return con


def _view_all(con: duckdb.DuckDBPyConnection, alias: str, path: Path) -> None:
    quoted = str(path).replace("'", "''")
    con.execute(f"attach '{quoted}' as {alias} (read_only)")
    rows = con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = ? and schema_name <> 'main'",
        [alias],
    ).fetchall()
    for schema, table in rows:
        con.execute(f"create schema if not exists {quote_ident(schema)}")
        name = qualified(schema, table)
        con.execute(f"create or replace view {name} as select * from {alias}.{name}")


def _serving(lab: Lab, busy: str, serving_fallback: bool) -> LabReader:
    serving = lab.paths.serving_file
    if serving_fallback and serving.is_file():
        try:
            con = _published(lab)
        except duckdb.Error as err:
            raise StepError(f"{busy}; the serving copy {serving} cannot be opened: {first_line(err)}") from err
        return LabReader(con, "serving", f"{busy}; showing the serving copy {serving.name}")
    raise LabBusyError(f"{busy}; try again when it finishes")


def check_data_folder(lab: Lab) -> None:
    """One line when something other than a folder sits where the lab's database folder must be."""
    folder = lab.paths.database().parent
    for path in (folder, *folder.parents):
        if path.exists():
            if not path.is_dir():
                raise StepError(f"{lab.name}: {path} is a file where a folder must be (the database goes in {folder})")
            return


def open_lab(lab: Lab, *, serving_fallback: bool = True) -> LabReader:
    """The lab database read-only; the serving copy while a run is on (if allowed and present)."""
    holder = running_run(lab)
    if holder is not None:
        return _serving(lab, f"lab {lab.name} is being written by a run ({holder})", serving_fallback)
    check_data_folder(lab)
    database = lab.paths.database()
    if not database.exists():
        raise StepError(f"{lab.name}: no database yet at {database}; run the lab first (buildcpg run {lab.name})")
    try:
        return LabReader(duckdb.connect(str(database), read_only=True), "database")
    except duckdb.Error as err:
        if is_damage(err):
            raise damaged(lab, err) from err
        if not is_lock_error(err):
            raise StepError(f"{lab.name}: cannot open {database}: {first_line(err)}") from err
        # no run holds the lab lock, yet something writes the file (a run starting, a BI tool, an IDE)
        busy = f"lab {lab.name} is being written by a run ({_writer(lab, str(err))})"
        return _serving(lab, busy, serving_fallback)
