"""inspect: exact distinct counts on tables of ordinary size, numbers (money) without e-notation."""

from __future__ import annotations

from decimal import Decimal

import duckdb
from buildcpg_shared.inspect import DataInspector
from buildcpg_shared.inspect.inspector import EXACT_DISTINCT_MAX_ROWS
from buildcpg_shared.inspect.render import cell


def test_distinct_counts_are_exact_below_the_threshold() -> None:
    con = duckdb.connect()
    con.execute("create table t as select i as id, i % 7 as weekday from range(200000) r(i)")
    approx = con.execute("select approx_count_distinct(id) from t").fetchone()[0]
    assert approx != 200000  # HyperLogLog is off here: the profile must not use it
    profile = DataInspector(con).profile("main", "t")
    assert profile.distinct_exact and EXACT_DISTINCT_MAX_ROWS >= 200000
    assert {c.name: c.distinct for c in profile.columns} == {"id": 200000, "weekday": 7}


def test_numbers_are_shown_without_e_notation() -> None:
    assert cell(12345.678) == "12,345.68"  # was 1.235e+04
    assert cell(654.4) == "654.40"
    assert cell(83.05) == "83.05"
    assert cell(0.0000123456) == "0.00001235"
    assert cell(12_345_678.9) == "12,345,679"
    assert cell(Decimal("1234567.89")) == "1,234,567.89"  # money stays exact
    assert cell(-45000.5) == "-45,000.50"
    assert "e" not in cell(1e-20)
