"""The ledger: which raw file was loaded, with which content hash, in ``_buildcpg.ledger``.

A local file is keyed by its path under data/raw (size + mtime, then its sha256, tell a change); an
object on storage (a source's ``files: s3://...``) by its ``s3://`` URL and its ETag (column ``etag``,
added to an older ledger on first use; an older ledger reads as having none).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from buildcpg_shared.errors import LabBusyError, is_lock_conflict
from buildcpg_shared.schema import META_SCHEMA, UTC_NOW_SQL, table_exists

LEDGER = f"{META_SCHEMA}.ledger"
# --full-refresh keeps the order files arrived in (the ledger's loaded_at) until they are loaded again:
# a lab whose newest copy of a row wins (lab 1's duplicates) then gets the same answer from a rebuild
ARRIVAL = f"{META_SCHEMA}.arrival_order"


@dataclass(frozen=True)
class LedgerEntry:
    """What the ledger knows of one loaded file."""

    source: str
    file: str
    size: int
    mtime_ns: int
    sha256: str
    rows: int
    rejected: int
    cursor: str | None = None  # HTTP sources: the largest cursor_field value in this landing
    etag: str | None = None  # objects on storage: the ETag of the version loaded


def ensure_ledger(con: duckdb.DuckDBPyConnection) -> None:
    """Create the metadata schema and the ledger table if missing."""
    con.execute(f"create schema if not exists {META_SCHEMA}")
    con.execute(
        f"""create table if not exists {LEDGER} (
            source varchar not null,
            file varchar not null,
            size bigint not null,
            mtime_ns bigint not null,
            sha256 varchar not null,
            rows bigint not null,
            rejected bigint not null,
            loaded_at timestamp not null,
            run_id varchar,
            primary key (source, file)
        )"""
    )
    con.execute(f"alter table {LEDGER} add column if not exists cursor varchar")
    con.execute(f"alter table {LEDGER} add column if not exists etag varchar")


def read_ledger(con: duckdb.DuckDBPyConnection) -> dict[str, LedgerEntry]:
    """Every ledger entry keyed by file (relative to data/raw)."""
    if not table_exists(con, META_SCHEMA, "ledger"):
        return {}
    columns = {r[0] for r in con.execute(f"select column_name from (describe {LEDGER})").fetchall()}
    cursor = "cursor" if "cursor" in columns else "null"
    etag = "etag" if "etag" in columns else "null"
    rows = con.execute(
        f"select source, file, size, mtime_ns, sha256, rows, rejected, {cursor}, {etag} from {LEDGER}"
    ).fetchall()
    return {r[1]: LedgerEntry(*r) for r in rows}


def record(con: duckdb.DuckDBPyConnection, entry: LedgerEntry, run_id: str) -> None:
    """Insert or replace one file's entry (call inside the file's load transaction)."""
    con.execute(
        f"insert or replace into {LEDGER} (source, file, size, mtime_ns, sha256, rows, rejected, loaded_at, run_id, "
        f"cursor, etag) values (?, ?, ?, ?, ?, ?, ?, {UTC_NOW_SQL}, ?, ?, ?)",
        [
            entry.source,
            entry.file,
            entry.size,
            entry.mtime_ns,
            entry.sha256,
            entry.rows,
            entry.rejected,
            run_id,
            entry.cursor,
            entry.etag,
        ],
    )


def keep_arrival_order(con: duckdb.DuckDBPyConnection) -> None:
    """Before --full-refresh drops the ledger: remember when each file was loaded (same transaction).
    A full refresh cut off before its Load finished keeps the order it had saved."""
    if table_exists(con, META_SCHEMA, "ledger") and not table_exists(con, META_SCHEMA, "arrival_order"):
        con.execute(f"create or replace table {ARRIVAL} as select source, file, loaded_at from {LEDGER}")


def arrival_order(con: duckdb.DuckDBPyConnection, *, before_reset: bool = False) -> dict[str, int]:
    """The rank each file arrived in before a --full-refresh (empty when none is pending).
    ``before_reset``: the order a --full-refresh about to start would keep (``dry-run``)."""
    table = ARRIVAL if table_exists(con, META_SCHEMA, "arrival_order") else None
    if table is None and before_reset and table_exists(con, META_SCHEMA, "ledger"):
        table = LEDGER
    if table is None:
        return {}
    rows = con.execute(f"select file from {table} order by loaded_at, file").fetchall()
    return {file: rank for rank, (file,) in enumerate(rows)}


def forget_arrival_order(con: duckdb.DuckDBPyConnection) -> None:
    """Every file is loaded again: the order is in the ledger once more."""
    con.execute(f"drop table if exists {ARRIVAL}")


def touch(con: duckdb.DuckDBPyConnection, file: str, size: int, mtime_ns: int) -> None:
    """Remember a new stat of a file whose content is unchanged (so it is not hashed again)."""
    con.execute(f"update {LEDGER} set size = ?, mtime_ns = ? where file = ?", [size, mtime_ns, file])


def read_ledger_file(database: Path, lab_name: str) -> dict[str, LedgerEntry]:
    """The ledger of a lab database opened read-only (empty when the database does not exist yet).

    Raises LabBusyError when a run holds the file: DuckDB lets no reader in while a writer is active.
    """
    if not database.exists():
        return {}
    try:
        con = duckdb.connect(str(database), read_only=True)
    except duckdb.IOException as err:
        if is_lock_conflict(err):
            raise LabBusyError(
                f"lab {lab_name} is being written by a run right now ({database.name} is locked); "
                "check again when it finishes"
            ) from err
        raise
    try:
        return read_ledger(con)
    finally:
        con.close()
