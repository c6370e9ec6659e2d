"""Publish a lab's gold tables to ``data/serving/<lab>.duckdb``, swapped in atomically.

The serving copy holds the gold tables and one table ``_buildcpg_version`` (lab, version, run id,
publish time, tables: what labs reading this one record). The platform metadata CLI readers need
while a run writes the lab (quality history, test results, ledger, snapshots, quarantine summary)
goes to a second file outside the folder BI tools read, ``data/.publish/<lab>.meta.duckdb``.

Both are written as temporaries in ``data/.publish/`` through DuckDB ``ATTACH`` and renamed into
place with ``os.replace`` (atomic on macOS and Linux; same file system). A BI tool that holds the
serving file open keeps reading the complete version it opened; the next open sees the complete new
one. A publish that fails (a full disk) removes its temporaries and leaves the previous copies as
they were, so the serving folder never holds anything but the served file.

``before_swap`` gets the finished serving temporary before anything is renamed into place: with
shared storage it is uploaded there first (pipeline/run_steps/publish.py), so a storage fault leaves
the local copies as they were too, and the last published version stays current everywhere.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from buildcpg_shared.errors import StepError, write_problem
from buildcpg_shared.inspect.inspector import DataInspector
from buildcpg_shared.quality.store import QUARANTINE_SUMMARY, quarantine_summary_sql
from buildcpg_shared.schema import (
    GOLD_SCHEMA,
    META_SCHEMA,
    SERVING_VERSION_TABLE,
    UTC_NOW_SQL,
    qualified,
    quote_ident,
)

VERSION_TABLE = SERVING_VERSION_TABLE  # the one table of the serving copy that is not gold (schema main)
_ALIAS = "buildcpg_serving"
_META_ALIAS = "buildcpg_serving_meta"
# Metadata published for `buildcpg quality` / `inspect` / `report` while a run writes the lab.
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
    meta_file: Path | None = None,
    work_dir: Path | None = None,
    before_swap: Callable[[Path], None] | None = None,
) -> PublishResult:
    """Copy every table and view of ``schema`` as tables to the serving file (and metadata to ``meta_file``).

    Temporaries go to ``work_dir`` (default: ``.publish`` beside the serving folder). A file-system
    fault (a file where the serving folder must be, a full disk) is one line; the lab database and
    the previous copies are untouched and no temporary stays behind. An error ``before_swap`` raises
    (the upload to shared storage) leaves them untouched the same way.
    """
    work = work_dir or serving_file.parent.parent / ".publish"
    temps = [work / f"{serving_file.name}.tmp"] + ([work / f"{meta_file.name}.tmp"] if meta_file else [])
    writing = serving_file
    try:
        _remove([*temps, serving_file.with_name(serving_file.name + ".tmp")])  # left by a killed publish
        serving_file.parent.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True, exist_ok=True)
        counts = _write_gold(con, temps[0], lab=lab, run_id=run_id, version=version, schema=schema)
        if meta_file is not None:
            writing = meta_file
            _write_meta(con, temps[1])
        if before_swap is not None:
            before_swap(temps[0])
        if meta_file is not None:
            writing = meta_file
            os.replace(temps[1], meta_file)
        writing = serving_file
        _replace(temps[0], serving_file)
    except (OSError, duckdb.IOException) as err:
        _remove(temps)
        raise StepError(f"cannot publish the serving copy: {write_problem(err, writing)}") from err
    except BaseException:
        _remove(temps)
        raise
    return PublishResult(serving_file, version, counts)


def _write_gold(
    con: duckdb.DuckDBPyConnection, tmp: Path, *, lab: str, run_id: str, version: int, schema: str
) -> dict[str, int]:
    """The serving copy as a temporary: gold tables (a gold view becomes a table) and the version table."""
    tables = [t for _, t in DataInspector(con).tables([schema])]
    counts: dict[str, int] = {}
    with _attached(con, tmp, _ALIAS):
        con.execute(f"create schema {_ALIAS}.{quote_ident(schema)}")
        for table in tables:
            src, dst = qualified(schema, table), f"{_ALIAS}.{qualified(schema, table)}"
            con.execute(f"create table {dst} as select * from {src}")
            row = con.execute(f"select count(*) from {dst}").fetchone()
            counts[f"{schema}.{table}"] = int(row[0]) if row else 0
        con.execute(
            f"create table {_ALIAS}.main.{VERSION_TABLE} as select ? as lab, ? as version, ? as run_id, "
            f"{UTC_NOW_SQL} as published_at, ?::json as tables",
            [lab, version, run_id, json.dumps(counts)],
        )
    return counts


def _write_meta(con: duckdb.DuckDBPyConnection, tmp: Path) -> None:
    """The readers' metadata as a temporary: quality, tests, ledger, snapshots, quarantine summary."""
    meta = {t for _, t in DataInspector(con).tables([META_SCHEMA])}
    with _attached(con, tmp, _META_ALIAS):
        con.execute(f"create schema {_META_ALIAS}.{META_SCHEMA}")
        for table in _META_TABLES:
            if table in meta:
                con.execute(f"create table {_META_ALIAS}.{META_SCHEMA}.{table} as select * from {META_SCHEMA}.{table}")
        summary = quarantine_summary_sql(con)
        if summary is not None:
            con.execute(f"create table {_META_ALIAS}.{QUARANTINE_SUMMARY} as {summary}")


@contextmanager
def _attached(con: duckdb.DuckDBPyConnection, path: Path, alias: str) -> Iterator[None]:
    """``ATTACH`` a new file for the ``with`` block; checkpointed when the block succeeds, always detached."""
    con.execute(f"attach {_sql_str(str(path))} as {alias}")
    done = False
    try:
        yield
        con.execute(f"checkpoint {alias}")
        done = True
    finally:
        try:
            con.execute(f"detach {alias}")
        except duckdb.Error:
            if done:
                raise  # otherwise the first error is the one to tell


def _replace(tmp: Path, serving_file: Path) -> None:
    try:
        os.replace(tmp, serving_file)
    except PermissionError as err:  # Windows: a file held open by a reader cannot be replaced
        raise StepError(
            f"{serving_file}: cannot replace the serving copy ({err.strerror}); a reader holds it open on a "
            "system that locks open files. Close it; the next run publishes again"
        ) from err


def _remove(files: list[Path]) -> None:
    """Remove temporaries and their .wal (a failed or killed publish); a removal that fails is left."""
    for path in files:
        for leftover in (path, path.with_name(path.name + ".wal")):
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
