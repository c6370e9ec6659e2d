"""Open a lab's database read-only for the platform commands, falling back to the serving copy.

DuckDB refuses even a ``read_only`` open while a run holds the write lock. Then the reader is
told so in one clear line and, when a serving copy has been published, reads that instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from buildcpg_shared.errors import LabBusyError, StepError
from buildcpg_shared.pipeline.lock import LabLock
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


def open_lab(lab: Lab, *, serving_fallback: bool = True) -> LabReader:
    """The lab database read-only; the serving copy when a run is writing it (if allowed and present)."""
    database = lab.paths.database()
    if not database.exists():
        raise StepError(f"{lab.name}: no database yet at {database}; run the lab first (buildcpg run {lab.name})")
    try:
        return LabReader(duckdb.connect(str(database), read_only=True), "database")
    except duckdb.Error as err:
        if not is_lock_error(err):
            raise StepError(f"{lab.name}: cannot open {database}: {str(err).splitlines()[0]}") from err
        busy = f"lab {lab.name} is being written by a run ({_writer(lab, str(err))})"
        serving = lab.paths.serving_file
        if serving_fallback and serving.exists():
            con = duckdb.connect(str(serving), read_only=True)
            return LabReader(con, "serving", f"{busy}; showing the serving copy {serving.name}")
        raise LabBusyError(f"{busy}; try again when it finishes") from err
