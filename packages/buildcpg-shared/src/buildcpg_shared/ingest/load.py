"""Load: one raw file into ``raw.<source>`` under its contract, atomically, with its ledger entry.

DuckDB's own CSV reader does the work with the column types declared in lab.yaml (no sniffing)
and its rejects tables: a row that breaks the types lands in ``quarantine.<source>`` with line,
column and reason, never silently dropped. The file's old rows, its new rows, its quarantined rows
and its ledger entry commit in one transaction, so a killed run leaves the database as it was.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import duckdb

from buildcpg_shared.config import SourceConfig
from buildcpg_shared.errors import LoadError
from buildcpg_shared.ingest import ledger
from buildcpg_shared.ingest.check import RawFile

RAW_SCHEMA = "raw"
QUARANTINE_SCHEMA = "quarantine"
_REJECTS_TABLE = "buildcpg_reject_errors"
_REJECTS_SCAN = "buildcpg_reject_scans"


@dataclass(frozen=True)
class LoadedFile:
    """What loading one file did."""

    source: str
    file: str
    rows: int
    rejected: int
    replaced: int


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def read_header(path: Path, source: SourceConfig) -> list[str]:
    """The header row of a CSV (BOM stripped), read with the source's delimiter and encoding."""
    encoding = "utf-8-sig" if source.encoding.lower().replace("_", "-") in ("utf-8", "utf8") else source.encoding
    try:
        with path.open(newline="", encoding=encoding) as handle:
            row = next(csv.reader(handle, delimiter=source.delimiter), None)
    except UnicodeDecodeError as err:
        raise LoadError(f"data/raw/{path.name}: line 1: not {source.encoding} text ({err.reason})") from err
    if row is None:
        raise LoadError(f"data/raw/{path.name}: the file is empty (expected a header row)")
    return [cell.strip() for cell in row]


def check_header(raw: RawFile, source: SourceConfig) -> None:
    """Reject the whole file when its header does not match the contract, naming the columns."""
    header = read_header(raw.path, source)
    expected = list(source.columns)
    if header == expected:
        return
    missing = [c for c in expected if c not in header]
    extra = [c for c in header if c not in expected]
    parts = []
    if missing:
        parts.append(f"missing {', '.join(missing)}")
    if extra:
        parts.append(f"unexpected {', '.join(extra)}")
    if not parts:
        parts.append(f"columns out of order: expected {', '.join(expected)}")
    raise LoadError(
        f"data/raw/{raw.rel}: header does not match the contract of source {raw.source!r}: "
        f"{'; '.join(parts)}. File not loaded; fix the file or lab.yaml"
    )


def ensure_tables(con: duckdb.DuckDBPyConnection, name: str, source: SourceConfig) -> None:
    """Create ``raw.<source>`` and ``quarantine.<source>``; refuse a raw table whose columns drifted."""
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute(f"create schema if not exists {QUARANTINE_SCHEMA}")
    columns = ", ".join(f"{col} {typ}" for col, typ in source.duckdb_columns.items())
    con.execute(
        f"create table if not exists {RAW_SCHEMA}.{name} "
        f"({columns}, _source_file varchar not null, _loaded_at timestamp not null)"
    )
    existing = [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
            "order by ordinal_position",
            [RAW_SCHEMA, name],
        ).fetchall()
    ]
    wanted = [*source.columns, "_source_file", "_loaded_at"]
    if existing != wanted:
        raise LoadError(
            f"raw.{name} has columns ({', '.join(existing)}) but lab.yaml declares ({', '.join(wanted)}); "
            "run with --full-refresh to rebuild the raw tables from the files"
        )
    con.execute(
        f"""create table if not exists {QUARANTINE_SCHEMA}.{name} (
            file varchar, line bigint, column_name varchar, error_type varchar,
            reason varchar, csv_line varchar, run_id varchar, quarantined_at timestamp
        )"""
    )


def _read_csv_sql(raw: RawFile, source: SourceConfig) -> str:
    columns = "{" + ", ".join(f"{_sql_str(c)}: {_sql_str(t)}" for c, t in source.duckdb_columns.items()) + "}"
    return (
        f"read_csv({_sql_str(str(raw.path))}, columns = {columns}, header = true, auto_detect = false, "
        f"delim = {_sql_str(source.delimiter)}, encoding = {_sql_str(source.encoding)}, "
        f"store_rejects = true, rejects_table = {_sql_str(_REJECTS_TABLE)}, "
        f"rejects_scan = {_sql_str(_REJECTS_SCAN)})"
    )


def load_file(con: duckdb.DuckDBPyConnection, raw: RawFile, source: SourceConfig, run_id: str) -> LoadedFile:
    """Replace the rows of one file in ``raw.<source>`` and record it, in one transaction."""
    check_header(raw, source)
    columns = ", ".join(source.columns)
    # DuckDB appends to existing rejects tables: start each file with empty ones.
    con.execute(f"drop table if exists {_REJECTS_TABLE}")
    con.execute(f"drop table if exists {_REJECTS_SCAN}")
    con.execute("begin transaction")
    try:
        replaced_row = con.execute(
            f"select count(*) from {RAW_SCHEMA}.{raw.source} where _source_file = ?", [raw.rel]
        ).fetchone()
        replaced = int(replaced_row[0]) if replaced_row else 0
        con.execute(f"delete from {RAW_SCHEMA}.{raw.source} where _source_file = ?", [raw.rel])
        con.execute(f"delete from {QUARANTINE_SCHEMA}.{raw.source} where file = ?", [raw.rel])
        inserted = con.execute(
            f"insert into {RAW_SCHEMA}.{raw.source} select {columns}, ? as _source_file, "
            f"current_timestamp::timestamp as _loaded_at from {_read_csv_sql(raw, source)}",
            [raw.rel],
        ).fetchone()
        rows = int(inserted[0]) if inserted else 0
        con.execute(
            f"""insert into {QUARANTINE_SCHEMA}.{raw.source}
                select ?, e.line, e.column_name, e.error_type::varchar, e.error_message, e.csv_line,
                       ?, current_timestamp::timestamp
                from {_REJECTS_TABLE} e""",
            [raw.rel, run_id],
        )
        rejected_row = con.execute(f"select count(distinct line) from {_REJECTS_TABLE}").fetchone()
        rejected = int(rejected_row[0]) if rejected_row else 0
        ledger.record(
            con,
            ledger.LedgerEntry(raw.source, raw.rel, raw.size, raw.mtime_ns, raw.sha256, rows, rejected),
            run_id,
        )
        con.execute("commit")
    except duckdb.Error as err:
        con.execute("rollback")
        first = str(err).strip().splitlines()[0]
        raise LoadError(f"data/raw/{raw.rel}: could not be loaded into raw.{raw.source}: {first}") from err
    except BaseException:
        con.execute("rollback")
        raise
    return LoadedFile(raw.source, raw.rel, rows, rejected, replaced)
