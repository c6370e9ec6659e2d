"""The shared expectations on their own, on an ordinary DuckDB table (as quality checks will use them)."""

from __future__ import annotations

import duckdb
from buildcpg_shared.config import SourceConfig
from buildcpg_shared.validate import (
    AcceptedValues,
    NotNull,
    Pattern,
    Range,
    UniqueKey,
    count_violations,
    expectations_for,
    sql_literal,
    violations_query,
)


def _table() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "create table t as select * from (values "
        "(1, 'a', 'North', 5, date '2026-01-01'), "
        "(2, 'a', 'East', 0, date '2025-12-31'), "
        "(3, null, 'North', null, null), "
        "(4, 'b', null, 101, date '2026-02-01'), "
        "(5, 'a', 'South', 7, date '2026-03-01')"
        ") v(line, code, region, units, day)"
    )
    return con


def test_each_rule_counts_its_violations() -> None:
    con = _table()
    assert count_violations(con, "t", [NotNull("code")]) == 1
    assert count_violations(con, "t", [AcceptedValues("region", ("North", "South"))]) == 1  # NULL is not checked
    assert count_violations(con, "t", [Range("units", 1, 100)]) == 2
    assert count_violations(con, "t", [Range("day", low="2026-01-01")]) == 1
    assert count_violations(con, "t", [Pattern("code", "[ab]")]) == 0
    assert count_violations(con, "t", [UniqueKey("code", ("code",))]) == 2  # 'a' three times: two surplus
    assert count_violations(con, "t", [UniqueKey("code,region", ("code", "region"))]) == 0
    assert count_violations(con, "t", [NotNull("code")], where="line > 3") == 0


def test_violations_query_names_rule_column_reason_and_first_copy() -> None:
    con = _table()
    rules = [NotNull("code"), Range("units", 1, 100), UniqueKey("code", ("code",))]
    query = violations_query("t", rules, "line")
    rows = con.execute(
        f"select line, _violation_type, _violation_column, _violation_reason from ({query}) order by line, 2"
    ).fetchall()
    assert rows == [
        (2, "DUPLICATE_KEY", "code", "duplicate primary key (code=a) first seen on line 1"),
        (2, "RANGE", "units", "value 0 of units is below the range [1, 100]"),
        (3, "REQUIRED", "code", "required value of code is missing"),
        (4, "RANGE", "units", "value 101 of units is above the range [1, 100]"),
        (5, "DUPLICATE_KEY", "code", "duplicate primary key (code=a) first seen on line 1"),
    ]


def test_expectations_come_from_the_contract() -> None:
    source = SourceConfig.model_validate(
        {
            "files": "x.csv",
            "primary_key": ["id"],
            "columns": {
                "id": {"type": "INTEGER", "required": True},
                "region": {"type": "VARCHAR", "accepted_values": ["N", "S"], "pattern": "[NS]"},
                "units": {"type": "INTEGER", "min": 0},
            },
        }
    )
    assert expectations_for(source) == [
        NotNull("id"),
        AcceptedValues("region", ("N", "S")),
        Pattern("region", "[NS]"),
        Range("units", 0, None),
        UniqueKey("id", ("id",)),
    ]
    assert sql_literal("O'Brien") == "'O''Brien'" and sql_literal(3) == "3" and sql_literal(True) == "true"
