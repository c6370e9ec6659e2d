"""Profile DuckDB tables with one aggregate SQL pass per table (no SUMMARIZE, no pandas)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

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
)
_ORDERED = (*_NUMERIC, "DATE", "TIMESTAMP", "TIME", "VARCHAR")


@dataclass
class ColumnProfile:
    """Profile of one column."""

    name: str
    type: str
    nulls: int
    approx_distinct: int
    min: Any = None
    max: Any = None
    mean: float | None = None


@dataclass
class TableProfile:
    """Profile of one table."""

    schema: str
    name: str
    rows: int
    columns: list[ColumnProfile] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class DataInspector:
    """Read-only inspection of a lab database (or an open connection)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    @classmethod
    def open(cls, database: Path) -> DataInspector:
        """Open a database file read-only."""
        return cls(duckdb.connect(str(database), read_only=True))

    def tables(self, schemas: list[str] | None = None) -> list[tuple[str, str]]:
        """(schema, table) pairs of base tables and views, optionally limited to some schemas."""
        rows = self.con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database() order by 1, 2"
        ).fetchall()
        return [(s, t) for s, t in rows if schemas is None or s in schemas]

    def row_count(self, schema: str, table: str) -> int:
        row = self.con.execute(f"select count(*) from {_q(schema)}.{_q(table)}").fetchone()
        return int(row[0]) if row else 0

    def profile(self, schema: str, table: str) -> TableProfile:
        """Row count and per-column nulls, approx distinct, min, max, mean in one pass."""
        columns = self.con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
        exprs = ["count(*)"]
        for name, dtype in columns:
            col = _q(name)
            base = dtype.split("(")[0].upper()
            exprs += [f"count(*) - count({col})", f"approx_count_distinct({col})"]
            if base in _ORDERED:
                exprs += [f"min({col})", f"max({col})"]
            else:
                exprs += ["null", "null"]
            exprs.append(f"avg({col})::double" if base in _NUMERIC else "null")
        row = self.con.execute(f"select {', '.join(exprs)} from {_q(schema)}.{_q(table)}").fetchone()
        assert row is not None
        profile = TableProfile(schema, table, int(row[0]))
        for i, (name, dtype) in enumerate(columns):
            nulls, distinct, lo, hi, mean = row[1 + 5 * i : 6 + 5 * i]
            profile.columns.append(ColumnProfile(name, dtype, int(nulls), int(distinct), lo, hi, mean))
        return profile

    def profile_schema(self, schema: str) -> list[TableProfile]:
        return [self.profile(s, t) for s, t in self.tables([schema])]
