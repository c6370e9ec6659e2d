"""Load: one raw file into ``raw.<source>`` under its contract, atomically, with its ledger entry.

DuckDB's own CSV reader does the work with the column types declared in lab.yaml (no sniffing)
and its rejects tables: a row that breaks the types lands in ``quarantine.<source>`` with line,
column and reason, never silently dropped. The file's old rows, its new rows, its quarantined rows
and its ledger entry commit in one transaction, so a killed run leaves the database as it was.

Columns whose values DuckDB would convert with a loss (integers, DECIMALs, DATEs: ``3.53`` → 4)
are read as text and converted by ``buildcpg_shared.validate.casts``: a value that does not fit its
type exactly is quarantined (``CAST`` / ``LOSSY_CAST``), never rounded. Headers are matched to the
contract's columns by ``ingest.headers`` (``from:``, ``headers: snake_case``), and a file in an
encoding DuckDB cannot read is decoded into a temporary UTF-8 copy (``ingest.encoding``).

Rules beyond types (required, accepted values, ranges, patterns, primary key) are the shared
expectations of ``buildcpg_shared.validate``, checked in SQL in the same transaction: a cheap
count over the file's rows first; only when something breaks a rule is the file read again in
order, so each violating row is quarantined with its line number and the rest kept. A file whose
share of rejected rows is above the source's ``max_reject_rate`` is not loaded at all.

Every load reconciles: the file's data records (``ingest.records``, counted apart from DuckDB) must
equal the rows loaded + the rows quarantined. DuckDB's parallel reader drops a record longer than its
buffer without a reject; the ordered read then quarantines it (``LINE SIZE OVER MAXIMUM``), and a
file that still does not add up is refused, so the ledger never claims a row that is in neither table.

An object on storage (a source's ``files: s3://...``) is streamed to a temporary file first
(``ingest.s3_raw``) and then goes through all of the above exactly like a local file; the ledger
records the ETag of the version that was downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from buildcpg_shared.config import SourceConfig
from buildcpg_shared.errors import LoadError, duckdb_write_problem, is_damage
from buildcpg_shared.ingest import ledger
from buildcpg_shared.ingest.check import RawFile, escape_problem
from buildcpg_shared.ingest.encoding import duckdb_encoding, utf8_readable
from buildcpg_shared.ingest.headers import check_header
from buildcpg_shared.ingest.records import RecordCount
from buildcpg_shared.ingest.s3_raw import downloaded, is_object, raw_name
from buildcpg_shared.schema import QUARANTINE_SCHEMA, RAW_SCHEMA, UTC_NOW_SQL
from buildcpg_shared.validate import Expectation, count_violations, expectations_for, violations_query
from buildcpg_shared.validate.casts import Conversion, cast_rules, conversions_for, strict_value

_REJECTS_TABLE = "buildcpg_reject_errors"
_REJECTS_SCAN = _REJECTS_TABLE + "_scan"
_STAGE = "buildcpg_stage"


@dataclass(frozen=True)
class LoadedFile:
    """What loading one file did."""

    source: str
    file: str
    rows: int
    rejected: int
    replaced: int
    first_problem: str = ""
    note: str = ""  # an object on storage replaced since Check: the version loaded instead


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


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


@dataclass(frozen=True)
class _Read:
    """How one file is read: the path DuckDB reads, its columns in file order, the text-read columns."""

    path: Path
    order: list[str]
    conversions: dict[str, Conversion]


def read_csv_sql(read: _Read, source: SourceConfig, *, rejects: str = _REJECTS_TABLE, ordered: bool = False) -> str:
    """DuckDB ``read_csv`` of one file with explicit types (text for the columns the loader converts)."""
    types = {c: "VARCHAR" if c in read.conversions else source.columns[c].type for c in read.order}
    columns = "{" + ", ".join(f"{_sql_str(c)}: {_sql_str(t)}" for c, t in types.items()) + "}"
    options = [
        f"columns = {columns}",
        "header = true",
        "auto_detect = false",
        f"delim = {_sql_str(source.delimiter)}",
        f"encoding = {_sql_str(duckdb_encoding(source.encoding) or 'utf-8')}",  # else a UTF-8 copy is read
        "store_rejects = true",
        f"rejects_table = {_sql_str(rejects)}",
        f"rejects_scan = {_sql_str(rejects + '_scan')}",
    ]
    if source.decimal_separator != ".":
        options.append(f"decimal_separator = {_sql_str(source.decimal_separator)}")
    if source.timestamp_format:
        options.append(f"timestampformat = {_sql_str(source.timestamp_format)}")
    if ordered:
        options.append("parallel = false")
    return f"read_csv({_sql_str(str(read.path))}, {', '.join(options)})"


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _violations(relation: str, rules: list[Expectation]) -> str:
    return (
        "select _line, _violation_column, _violation_type, _violation_reason "
        f"from ({violations_query(relation, rules, '_line')})"
    )


def _load_in_order(
    con: duckdb.DuckDBPyConnection,
    raw: RawFile,
    source: SourceConfig,
    read: _Read,
    rules: list[Expectation],
    run_id: str,
) -> tuple[int, int]:
    """Read the file again in order and quarantine, with line numbers, every row that the reader
    rejects, whose text does not fit its type exactly, or that breaks a rule; keep the rest.

    Returns (rows kept, rows quarantined). Line numbers count CSV records like DuckDB's rejects
    (header = line 1), so a quoted newline does not shift them. Must run inside the file's transaction.
    """
    ordered_rejects = _REJECTS_TABLE + "_ordered"
    for table in (ordered_rejects, ordered_rejects + "_scan"):
        con.execute(f"drop table if exists {table}")
    con.execute(f"delete from {RAW_SCHEMA}.{raw.source} where _source_file = ?", [raw.rel])
    con.execute(f"delete from {QUARANTINE_SCHEMA}.{raw.source} where file = ?", [raw.rel])
    _stage_in_order(con, raw, source, read, ordered_rejects, run_id)
    _quarantine_breaking_rows(con, raw, source, read, rules, run_id)
    kept = _count(
        con,
        f"insert into {RAW_SCHEMA}.{raw.source} select {', '.join(source.columns)}, ? as _source_file, "
        f"{UTC_NOW_SQL} as _loaded_at from {_STAGE}_typed "
        f"where _line not in (select _line from {_STAGE}_bad)",
        [raw.rel],
    )
    bad = _count(con, f"select count(distinct line) from {ordered_rejects}")
    bad += _count(con, f"select count(distinct _line) from {_STAGE}_bad")
    for table in (_STAGE + "_ord", _STAGE, _STAGE + "_cast", _STAGE + "_typed", _STAGE + "_bad"):
        con.execute(f"drop table if exists {table}")
    for table in (ordered_rejects, ordered_rejects + "_scan"):
        con.execute(f"drop table if exists {table}")
    return kept, bad


def _stage_in_order(
    con: duckdb.DuckDBPyConnection, raw: RawFile, source: SourceConfig, read: _Read, rejects: str, run_id: str
) -> None:
    """The file's records as text, in file order, each with its line (``{_STAGE}``); the records the
    reader rejects go to quarantine with DuckDB's reason."""
    previous = con.execute("select current_setting('preserve_insertion_order')").fetchone()
    con.execute("set preserve_insertion_order = true")
    try:
        con.execute(
            f"create or replace temp table {_STAGE}_ord as select row_number() over () - 1 as _ord, "
            f"{', '.join(read.order)} from {read_csv_sql(read, source, rejects=rejects, ordered=True)}"
        )
    finally:
        con.execute(f"set preserve_insertion_order = {'true' if previous and previous[0] else 'false'}")
    con.execute(
        f"""insert into {QUARANTINE_SCHEMA}.{raw.source}
            select ?, e.line, e.column_name, e.error_type::varchar, e.error_message, e.csv_line,
                   ?, {UTC_NOW_SQL}
            from {rejects} e""",
        [raw.rel, run_id],
    )
    # Good rows come out in file order; a good row's line = its ordinal + 2 + rejected records before it.
    con.execute(
        f"""create or replace temp table {_STAGE} as
        with r as (
            select line - 1 - row_number() over (order by line) as good_before
            from (select distinct line from {rejects})
        )
        select s.* exclude (_ord), s._ord + 2 + (select count(*) from r where r.good_before <= s._ord) as _line
        from {_STAGE}_ord s"""
    )


def _quarantine_breaking_rows(
    con: duckdb.DuckDBPyConnection,
    raw: RawFile,
    source: SourceConfig,
    read: _Read,
    rules: list[Expectation],
    run_id: str,
) -> None:
    """Typed rows (``{_STAGE}_typed``) and the lines that break a type or a rule (``{_STAGE}_bad``),
    those quarantined with their text."""
    con.execute(f"create or replace temp table {_STAGE}_cast as {_violations(_STAGE, cast_rules(read.conversions))}")
    converted = ", ".join(
        f"{read.conversions[c].convert} as {c}" if c in read.conversions else c for c in source.columns
    )
    con.execute(
        f"create or replace temp table {_STAGE}_typed as select {converted}, _line from {_STAGE} "
        f"where _line not in (select _line from {_STAGE}_cast)"
    )
    con.execute(
        f"create or replace temp table {_STAGE}_bad as select * from {_STAGE}_cast "
        f"union all {_violations(_STAGE + '_typed', rules)}"
    )
    line_text = f" || {_sql_str(source.delimiter)} || ".join(f"coalesce(s.{c}::varchar, '')" for c in read.order)
    con.execute(
        f"""insert into {QUARANTINE_SCHEMA}.{raw.source}
            select ?, b._line, b._violation_column, b._violation_type, b._violation_reason, {line_text}, ?,
                   {UTC_NOW_SQL}
            from {_STAGE}_bad b join {_STAGE} s on s._line = b._line""",
        [raw.rel, run_id],
    )


def _first_problem(con: duckdb.DuckDBPyConnection, raw: RawFile) -> str:
    row = con.execute(
        f"select line, column_name, reason from {QUARANTINE_SCHEMA}.{raw.source} where file = ? "
        "order by line, column_name limit 1",
        [raw.rel],
    ).fetchone()
    if not row:
        return ""
    column = f" column {row[1]}" if row[1] else ""
    reason = " ".join(str(row[2]).split())[:200]
    return f"line {row[0]}{column}: {reason}"


class _NeedsOrderedRead(Exception):
    """The fast read met a value that does not fit its type exactly, or lost a record without a
    reject: read the file in order instead."""


def _reconcile(raw: RawFile, count: RecordCount, rows: int, rejected: int, *, fast: bool) -> None:
    """Refuse a load whose rows + quarantined rows are not every data record of the file.

    DuckDB's parallel reader drops a record longer than its buffer without a reject; the ordered
    (single-threaded) read quarantines it as ``LINE SIZE OVER MAXIMUM``, so the fast path retries
    in order, and only a mismatch there refuses the file.
    """
    if count.agrees(rows + rejected):
        return
    if fast:
        raise _NeedsOrderedRead
    raise LoadError(
        f"{raw_name(raw.rel)}: {count.records()} data record(s) in the file but {rows} loaded + {rejected} "
        "quarantined; file not loaded, its previous rows kept"
    )


def load_file(con: duckdb.DuckDBPyConnection, raw: RawFile, source: SourceConfig, run_id: str) -> LoadedFile:
    """Replace the rows of one file in ``raw.<source>`` and record it, in one transaction.

    The fast path is one parallel read whose text-read columns raise at the first value that does not
    fit exactly; that (or a broken rule) sends the file down the ordered path, which quarantines each
    such row with its line. A clean file is read once. A path that now leads out of ``data/raw``
    (a symlink put in its place since Check) is refused before it is opened. An object on storage is
    streamed to a temporary file, loaded from there, and the file removed.
    """
    if is_object(raw.rel):
        return _load_object(con, raw, source, run_id)
    escaped = escape_problem(raw.path, raw.rel)
    if escaped:
        raise LoadError(escaped)
    return _load_local(con, raw, source, run_id)


def _load_local(con: duckdb.DuckDBPyConnection, raw: RawFile, source: SourceConfig, run_id: str) -> LoadedFile:
    """The file at ``raw.path`` (under data/raw, or an object's download): header, read, reconcile, record."""
    order = check_header(raw.path, raw.rel, raw.source, source)
    conversions = conversions_for(source)
    rules = expectations_for(source)
    try:
        with utf8_readable(raw.path, source.encoding) as path:
            read = _Read(path, order, conversions)
            encoding = source.encoding if duckdb_encoding(source.encoding) else "utf-8"  # of what DuckDB reads
            count = RecordCount(path, delimiter=source.delimiter, encoding=encoding)
            try:
                return _load(con, raw, source, read, rules, run_id, count, fast=True)
            except _NeedsOrderedRead:
                return _load(con, raw, source, read, rules, run_id, count, fast=False)
    except OSError as err:  # while transcoding to a temporary UTF-8 copy
        raise LoadError(f"{raw_name(raw.rel)}: cannot be read: {err.strerror or err}") from err


def _load_object(con: duckdb.DuckDBPyConnection, raw: RawFile, source: SourceConfig, run_id: str) -> LoadedFile:
    """An object on storage, downloaded (chunked) to ``raw.path`` and loaded like a local file; the ledger
    gets the size, hash and ETag of what was downloaded (the GET's, not the listing's)."""
    with downloaded(raw.rel, raw.etag, raw.path) as got:
        loaded = _load_local(con, replace(raw, size=got.size, sha256=got.sha256, etag=got.etag), source, run_id)
    if got.replaced:
        loaded = replace(loaded, note=f"{raw.rel}: replaced since Check listed it; loaded the version there now")
    return loaded


def _load(
    con: duckdb.DuckDBPyConnection,
    raw: RawFile,
    source: SourceConfig,
    read: _Read,
    rules: list[Expectation],
    run_id: str,
    count: RecordCount,
    *,
    fast: bool,
) -> LoadedFile:
    """One transaction: the file's old rows out, its rows read (fast or in order), reconciled with the
    file's records, the reject rate checked, the ledger entry written; all of it or nothing."""
    # DuckDB appends to existing rejects tables: start each file with empty ones.
    con.execute(f"drop table if exists {_REJECTS_TABLE}")
    con.execute(f"drop table if exists {_REJECTS_SCAN}")
    con.execute("begin transaction")
    try:
        replaced = _count(con, f"select count(*) from {RAW_SCHEMA}.{raw.source} where _source_file = ?", [raw.rel])
        con.execute(f"delete from {RAW_SCHEMA}.{raw.source} where _source_file = ?", [raw.rel])
        con.execute(f"delete from {QUARANTINE_SCHEMA}.{raw.source} where file = ?", [raw.rel])
        if fast:
            rows, rejected = _read_fast(con, raw, source, read, run_id)
            in_file = f"_source_file = {_sql_str(raw.rel)}"
            if rules and count_violations(con, f"{RAW_SCHEMA}.{raw.source}", rules, in_file):
                rows, rejected = _load_in_order(con, raw, source, read, rules, run_id)
        else:
            rows, rejected = _load_in_order(con, raw, source, read, rules, run_id)
        _reconcile(raw, count, rows, rejected, fast=fast)
        first_problem = _first_problem(con, raw) if rejected else ""
        _check_reject_rate(raw, source, rows, rejected, first_problem)
        entry = ledger.LedgerEntry(
            raw.source,
            raw.rel,
            raw.size,
            raw.mtime_ns,
            raw.sha256,
            rows,
            rejected,
            _http_cursor(con, raw, source),
            raw.etag or None,
        )
        ledger.record(con, entry, run_id)
        con.execute("commit")
    except duckdb.Error as err:
        con.execute("rollback")
        if is_damage(err):  # the lab database, not this file: the run says so in one line (--rebuild)
            raise
        if fast and read.conversions:  # most likely a value that does not fit: the ordered path says which
            raise _NeedsOrderedRead from err
        first = duckdb_write_problem(err) or str(err).strip().splitlines()[0]  # a full disk: the file and why
        raise LoadError(f"{raw_name(raw.rel)}: could not be loaded into raw.{raw.source}: {first}") from err
    except BaseException:
        con.execute("rollback")
        raise
    return LoadedFile(raw.source, raw.rel, rows, rejected, replaced, first_problem)


def _read_fast(
    con: duckdb.DuckDBPyConnection, raw: RawFile, source: SourceConfig, read: _Read, run_id: str
) -> tuple[int, int]:
    """One parallel read into ``raw.<source>`` (strict casts raise at a value that does not fit);
    the reader's rejects to quarantine. Returns (rows loaded, rows quarantined)."""
    values = ", ".join(strict_value(read.conversions[c]) if c in read.conversions else c for c in source.columns)
    rows = _count(
        con,
        f"insert into {RAW_SCHEMA}.{raw.source} select {values}, ? as _source_file, "
        f"{UTC_NOW_SQL} as _loaded_at from {read_csv_sql(read, source)}",
        [raw.rel],
    )
    con.execute(
        f"""insert into {QUARANTINE_SCHEMA}.{raw.source}
            select ?, e.line, e.column_name, e.error_type::varchar, e.error_message, e.csv_line,
                   ?, {UTC_NOW_SQL}
            from {_REJECTS_TABLE} e""",
        [raw.rel, run_id],
    )
    return rows, _count(con, f"select count(distinct line) from {_REJECTS_TABLE}")


def _check_reject_rate(raw: RawFile, source: SourceConfig, rows: int, rejected: int, first_problem: str) -> None:
    """Refuse the whole file when more of its rows break the contract than ``max_reject_rate`` allows."""
    total = rows + rejected
    if total and rejected / total > source.max_reject_rate:
        raise LoadError(
            f"{raw_name(raw.rel)}: {rejected} of {total} row(s) ({rejected / total:.1%}) break the contract of "
            f"source {raw.source!r}, above max_reject_rate {source.max_reject_rate:.1%}; file not loaded, "
            f"its previous rows kept; first: {first_problem}"
        )


def _http_cursor(con: duckdb.DuckDBPyConnection, raw: RawFile, source: SourceConfig) -> str | None:
    """The highest cursor value of a polled file (an HTTP source's next page starts after it), else None."""
    if source.http is None or not source.http.cursor_field:
        return None
    found = con.execute(
        f"select max({source.http.cursor_field})::varchar from {RAW_SCHEMA}.{raw.source} where _source_file = ?",
        [raw.rel],
    ).fetchone()
    return found[0] if found else None
