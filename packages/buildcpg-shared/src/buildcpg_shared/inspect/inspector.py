"""Profile DuckDB tables with SQL aggregates in as few passes as possible (no SUMMARIZE, no pandas).

A table profile costs one aggregate pass over all columns (count, nulls, distinct, min, max, mean)
plus, only for low-cardinality columns, one narrow pass for their top values. Distinct counts are
exact up to ``EXACT_DISTINCT_MAX_ROWS`` rows and approximate (HyperLogLog) above.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from buildcpg_shared.schema import META_SCHEMA, UTC_NOW_SQL, qualified, quote_ident

SNAPSHOTS = f"{META_SCHEMA}.inspect_snapshots"
TOP_VALUES_MAX_DISTINCT = 50  # columns with more distinct values get no top values
EXACT_DISTINCT_MAX_ROWS = 1_000_000  # up to here count(distinct) is cheap; above, approx_count_distinct

_NUMERIC = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
    "REAL",
    "UBIGINT",
    "UINTEGER",
    "USMALLINT",
    "UTINYINT",
)
_ORDERED = (*_NUMERIC, "DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIME", "VARCHAR", "BOOLEAN", "UUID")


@dataclass
class ColumnProfile:
    """Profile of one column."""

    name: str
    type: str
    nulls: int
    distinct: int
    min: Any = None
    max: Any = None
    mean: float | None = None
    top_values: list[tuple[Any, int]] = field(default_factory=list)


@dataclass
class TableProfile:
    """Profile of one table."""

    schema: str
    name: str
    rows: int
    columns: list[ColumnProfile] = field(default_factory=list)
    distinct_exact: bool = True  # False: the distinct counts are approximate (a large table)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TableInfo:
    """One table or view of the database: kind, rows, columns and (for tables) bytes on disk."""

    schema: str
    name: str
    kind: str
    rows: int
    columns: int
    size_bytes: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Sample:
    """A few rows of a table."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "rows": [list(r) for r in self.rows]}


@dataclass
class Change:
    """A schema or volume change of one table between two inspected runs."""

    table: str
    kind: str  # added | removed | columns | rows
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _base_type(dtype: str) -> str:
    return dtype.split("(")[0].upper().strip()


class DataInspector:
    """Read-only inspection of a lab database (or of an open connection)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    @classmethod
    def open(cls, database: Path) -> DataInspector:
        """Open a database file read-only (see ``inspect.readonly`` for a lab that is being written)."""
        return cls(duckdb.connect(str(database), read_only=True))

    def close(self) -> None:
        self.con.close()

    # -- tables ------------------------------------------------------------------------------
    def tables(self, schemas: list[str] | None = None, *, base_only: bool = False) -> list[tuple[str, str]]:
        """(schema, table) pairs of base tables and views (or base tables only), optionally of some schemas."""
        rows = self.con.execute(
            "select table_schema, table_name, table_type from information_schema.tables "
            "where table_catalog = current_database() order by 1, 2"
        ).fetchall()
        return [
            (s, t)
            for s, t, kind in rows
            if (schemas is None or s in schemas) and (not base_only or kind == "BASE TABLE")
        ]

    def row_count(self, schema: str, table: str) -> int:
        row = self.con.execute(f"select count(*) from {qualified(schema, table)}").fetchone()
        return int(row[0]) if row else 0

    def overview(self, schemas: list[str] | None = None) -> list[TableInfo]:
        """Every table and view with its row count, column count and size (blocks on disk, for tables)."""
        kinds = dict(
            ((s, t), k)
            for s, t, k in self.con.execute(
                "select table_schema, table_name, table_type from information_schema.tables "
                "where table_catalog = current_database()"
            ).fetchall()
        )
        ncols = dict(
            ((s, t), int(n))
            for s, t, n in self.con.execute(
                "select table_schema, table_name, count(*) from information_schema.columns "
                "where table_catalog = current_database() group by all"
            ).fetchall()
        )
        infos = []
        for schema, table in self.tables(schemas):
            kind = "view" if kinds.get((schema, table)) == "VIEW" else "table"
            size = self._size_bytes(schema, table) if kind == "table" else None
            rows = self.row_count(schema, table)
            infos.append(TableInfo(schema, table, kind, rows, ncols.get((schema, table), 0), size))
        return infos

    def _size_bytes(self, schema: str, table: str) -> int | None:
        try:
            row = self.con.execute(
                "select count(distinct block_id) from pragma_storage_info(?) where persistent and block_id >= 0",
                [qualified(schema, table)],
            ).fetchone()
            block = self.con.execute("select current_setting('default_block_size')").fetchone()
        except duckdb.Error:  # in-memory databases and older DuckDB versions: size unknown
            return None
        return int(row[0]) * int(block[0]) if row and block else None

    # -- profiles ----------------------------------------------------------------------------
    def columns(self, schema: str, table: str) -> list[tuple[str, str]]:
        return [
            (str(n), str(t))
            for n, t in self.con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? and table_catalog = current_database() "
                "order by ordinal_position",
                [schema, table],
            ).fetchall()
        ]

    def profile(self, schema: str, table: str, *, top: int = 5) -> TableProfile:
        """Rows and per-column nulls, distinct, min, max, mean in one pass; top values in a second,
        narrow pass over the low-cardinality columns only (``top=0`` skips it)."""
        columns = self.columns(schema, table)
        relation = qualified(schema, table)
        exact = self.row_count(schema, table) <= EXACT_DISTINCT_MAX_ROWS
        distinct = "count(distinct {})" if exact else "approx_count_distinct({})"
        exprs = ["count(*)"]
        for name, dtype in columns:
            col, base = quote_ident(name), _base_type(dtype)
            exprs += [f"count({col})", distinct.format(col)]
            exprs += [f"min({col})", f"max({col})"] if base in _ORDERED else ["null", "null"]
            exprs.append(f"avg({col})::double" if base in _NUMERIC else "null")
        row = self.con.execute(f"select {', '.join(exprs)} from {relation}").fetchone()
        assert row is not None
        profile = TableProfile(schema, table, int(row[0]), distinct_exact=exact)
        for i, (name, dtype) in enumerate(columns):
            non_null, distinct, lo, hi, mean = row[1 + 5 * i : 6 + 5 * i]
            nulls = profile.rows - int(non_null)
            profile.columns.append(ColumnProfile(name, dtype, nulls, int(distinct), lo, hi, mean))
        if top > 0:
            self._top_values(relation, profile, top)
        return profile

    def _top_values(self, relation: str, profile: TableProfile, top: int) -> None:
        wanted = [c for c in profile.columns if 0 < c.distinct <= TOP_VALUES_MAX_DISTINCT]
        if not wanted:
            return
        exprs = ", ".join(f"histogram({quote_ident(c.name)})" for c in wanted)
        row = self.con.execute(f"select {exprs} from {relation}").fetchone() or ()
        for column, counts in zip(wanted, row, strict=True):
            ranked = sorted((counts or {}).items(), key=lambda kv: (-kv[1], str(kv[0])))
            if ranked and ranked[0][1] > 1:  # all values distinct: nothing is "top"
                column.top_values = [(k, int(v)) for k, v in ranked[:top]]

    def profile_schema(self, schema: str) -> list[TableProfile]:
        return [self.profile(s, t) for s, t in self.tables([schema])]

    def sample(self, schema: str, table: str, n: int = 5) -> Sample:
        """The first ``n`` rows (as stored; no ordering is implied)."""
        cursor = self.con.execute(f"select * from {qualified(schema, table)} limit {int(n)}")
        return Sample([d[0] for d in cursor.description or []], cursor.fetchall())

    # -- changes between runs ----------------------------------------------------------------
    def changes(self) -> list[Change]:
        """Schema and volume changes between the last two inspected runs (``_buildcpg.inspect_snapshots``)."""
        try:
            runs = self.con.execute(
                f"select run_id from {SNAPSHOTS} group by run_id order by max(taken_at) desc limit 2"
            ).fetchall()
        except duckdb.CatalogException:
            return []
        if len(runs) < 2:
            return []
        new, old = (self._snapshot(str(r[0])) for r in runs)
        return diff_snapshots(old, new)

    def _snapshot(self, run_id: str) -> dict[str, tuple[int, dict[str, str]]]:
        rows = self.con.execute(f"select relation, row_count, columns from {SNAPSHOTS} where run_id = ?", [run_id])
        return {str(r): (int(n), json.loads(c)) for r, n, c in rows.fetchall()}


def diff_snapshots(
    old: dict[str, tuple[int, dict[str, str]]], new: dict[str, tuple[int, dict[str, str]]]
) -> list[Change]:
    """Tables added or removed, columns added, removed or retyped, row counts changed."""
    changes = [Change(t, "added", f"{new[t][0]:,} rows") for t in sorted(new.keys() - old.keys())]
    changes += [Change(t, "removed", f"had {old[t][0]:,} rows") for t in sorted(old.keys() - new.keys())]
    for table in sorted(new.keys() & old.keys()):
        (old_rows, old_cols), (new_rows, new_cols) = old[table], new[table]
        parts = [f"+{c} {new_cols[c]}" for c in new_cols if c not in old_cols]
        parts += [f"-{c}" for c in old_cols if c not in new_cols]
        parts += [f"{c} {old_cols[c]}→{new_cols[c]}" for c in new_cols if c in old_cols and old_cols[c] != new_cols[c]]
        if parts:
            changes.append(Change(table, "columns", ", ".join(parts)))
        if new_rows != old_rows:
            pct = f" ({(new_rows - old_rows) / old_rows:+.1%})" if old_rows else ""
            changes.append(Change(table, "rows", f"{old_rows:,} → {new_rows:,}{pct}"))
    return changes


def take_snapshot(con: duckdb.DuckDBPyConnection, run_id: str, schemas: list[str]) -> dict[str, int]:
    """Record row counts and column types of the tables of ``schemas`` for this run (the runner calls it)."""
    inspector = DataInspector(con)
    con.execute(f"create schema if not exists {META_SCHEMA}")
    con.execute(
        f"create table if not exists {SNAPSHOTS} "
        "(run_id varchar, taken_at timestamp, relation varchar, row_count bigint, columns json)"
    )
    counts: dict[str, int] = {}
    values = []
    for schema, table in inspector.tables(schemas):
        relation = f"{schema}.{table}"
        counts[relation] = inspector.row_count(schema, table)
        values += [run_id, relation, counts[relation], json.dumps(dict(inspector.columns(schema, table)))]
    if counts:
        marks = ", ".join([f"(?, {UTC_NOW_SQL}, ?, ?, ?)"] * len(counts))
        con.execute(f"insert into {SNAPSHOTS} values {marks}", values)
    return counts
