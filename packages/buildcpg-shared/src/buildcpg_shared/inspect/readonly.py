"""Open a lab's database read-only for the platform commands, falling back to the serving copy.

While a run holds the lab lock, a reader never opens the working database: even a ``read_only``
open would hold DuckDB's file lock and could stop the run from writing. The reader is told so in
one clear line and reads the serving copy (the last published gold) instead, when there is one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from buildcpg_shared.errors import LabBusyError, StepError, first_line
from buildcpg_shared.lab_lock import LabLock
from buildcpg_shared.registry import Lab

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
    return "lock" in str(err).lower()


def running_run(lab: Lab) -> str | None:
    """Who runs the lab right now (holds its lab lock), or None; read without touching the database."""
    return LabLock(lab.paths.lock_file, lab.name).running_holder()


def _serving(lab: Lab, busy: str, serving_fallback: bool) -> LabReader:
    serving = lab.paths.serving_file
    if serving_fallback and serving.is_file():
        try:
            con = duckdb.connect(str(serving), read_only=True)
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
        if not is_lock_error(err):
            raise StepError(f"{lab.name}: cannot open {database}: {first_line(err)}") from err
        # no run holds the lab lock, yet something writes the file (a run starting, a BI tool, an IDE)
        busy = f"lab {lab.name} is being written by a run ({_writer(lab, str(err))})"
        return _serving(lab, busy, serving_fallback)
