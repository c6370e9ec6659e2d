"""Publish a lab's gold tables to ``data/serving/<lab>.duckdb``, swapped in atomically.

The copy is written to ``<lab>.duckdb.tmp`` through DuckDB ``ATTACH`` and then renamed over the
serving file with ``os.replace`` (atomic on macOS and Linux). A BI tool or the ``duckdb`` CLI
that holds the serving file open keeps reading the complete version it opened; the next open sees
the complete new one. Nobody ever sees half a publish, and a reader never blocks the lab's run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from buildcpg_shared.errors import StepError, first_line, os_problem
from buildcpg_shared.inspect.inspector import DataInspector
from buildcpg_shared.quality.store import QUARANTINE_SUMMARY, quarantine_summary_sql
from buildcpg_shared.schema import GOLD_SCHEMA, META_SCHEMA, UTC_NOW_SQL, qualified, quote_ident

VERSION_TABLE = f"{META_SCHEMA}.serving_version"
_ALIAS = "buildcpg_serving"
# Metadata copied along, so `buildcpg quality` / `report` can read the serving copy while a run writes.
_META_TABLES = ("quality_history", "test_results", "ledger", "inspect_snapshots")


@dataclass(frozen=True)
class PublishResult:
    """What one publish wrote."""

    path: Path
    version: int
    tables: dict[str, int]


def publish(
    con: duckdb.DuckDBPyConnection,
    serving_file: Path,
    *,
    lab: str,
    run_id: str,
    version: int,
    schema: str = GOLD_SCHEMA,
) -> PublishResult:
    """Copy every table and view of ``schema`` (plus quality metadata) as tables to the serving file, atomically.

    A file-system fault (a file where the serving folder must be, a full disk) is one line; the
    lab database and the previous serving copy are untouched.
    """
    try:
        return _publish(con, serving_file, lab=lab, run_id=run_id, version=version, schema=schema)
    except OSError as err:
        raise StepError(f"cannot write the serving copy {serving_file}: {os_problem(err)}") from err
    except duckdb.IOException as err:
        raise StepError(f"cannot write the serving copy {serving_file}: {first_line(err)}") from err


def _publish(
    con: duckdb.DuckDBPyConnection, serving_file: Path, *, lab: str, run_id: str, version: int, schema: str
) -> PublishResult:
    serving_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = serving_file.with_name(serving_file.name + ".tmp")
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)  # a publish killed half-way left it: never served
    inspector = DataInspector(con)
    tables = [t for _, t in inspector.tables([schema])]  # a gold view (lab.yaml gold:) is copied as a table
    meta = {t for _, t in inspector.tables([META_SCHEMA])}
    counts: dict[str, int] = {}
    con.execute(f"attach {_sql_str(str(tmp))} as {_ALIAS}")
    try:
        con.execute(f"create schema {_ALIAS}.{quote_ident(schema)}")
        con.execute(f"create schema {_ALIAS}.{META_SCHEMA}")
        for table in tables:
            src, dst = qualified(schema, table), f"{_ALIAS}.{qualified(schema, table)}"
            con.execute(f"create table {dst} as select * from {src}")
            row = con.execute(f"select count(*) from {dst}").fetchone()
            counts[f"{schema}.{table}"] = int(row[0]) if row else 0
        for table in _META_TABLES:
            if table in meta:
                con.execute(f"create table {_ALIAS}.{META_SCHEMA}.{table} as select * from {META_SCHEMA}.{table}")
        summary = quarantine_summary_sql(con)
        if summary is not None:
            con.execute(f"create table {_ALIAS}.{QUARANTINE_SUMMARY} as {summary}")
        con.execute(
            f"create table {_ALIAS}.{VERSION_TABLE} as select ? as lab, ? as version, ? as run_id, "
            f"{UTC_NOW_SQL} as published_at, ?::json as tables",
            [lab, version, run_id, json.dumps(counts)],
        )
        con.execute(f"checkpoint {_ALIAS}")
    finally:
        con.execute(f"detach {_ALIAS}")
    try:
        os.replace(tmp, serving_file)
    except PermissionError as err:  # Windows: a file held open by a reader cannot be replaced
        tmp.unlink(missing_ok=True)
        raise StepError(
            f"{serving_file}: cannot replace the serving copy ({err.strerror}); a reader holds it open on a "
            "system that locks open files. Close it; the next run publishes again"
        ) from err
    return PublishResult(serving_file, version, counts)


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
