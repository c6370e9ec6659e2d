"""DataInspector on real DuckDB files: overview, profile, top values, samples, changes, read-only use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.inspect import DataInspector
from buildcpg_shared.inspect.inspector import diff_snapshots, take_snapshot
from buildcpg_shared.inspect.render import Section, to_markdown


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "lab.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema gold")
        con.execute(
            """create table gold.orders as select
                 i as order_id,
                 case when i % 10 = 0 then null else 'store_' || (i % 3) end as store,
                 (i * 1.5)::double as amount,
                 date '2026-01-01' + (i % 31)::int as order_date
               from range(1, 1001) r(i)"""
        )
        con.execute("create view gold.big_orders as select * from gold.orders where amount > 1000")
    return path


def test_profile_counts_nulls_distinct_min_max_mean_and_top_values(database: Path) -> None:
    with duckdb.connect(str(database), read_only=True) as con:
        profile = DataInspector(con).profile("gold", "orders")
        expected = con.execute(
            "select count(*) - count(store), min(amount), max(amount), avg(amount) from gold.orders"
        ).fetchone()
        by_store = con.execute(
            "select store, count(*)::int from gold.orders where store is not null group by 1 order by 2 desc, 1"
        ).fetchall()
    cols = {c.name: c for c in profile.columns}
    assert profile.rows == 1000
    assert cols["store"].nulls == expected[0] == 100
    assert (cols["amount"].min, cols["amount"].max) == (expected[1], expected[2])
    assert cols["amount"].mean == pytest.approx(expected[3])
    assert cols["store"].distinct == 3
    assert cols["store"].top_values == by_store and sum(n for _, n in by_store) == 900
    assert cols["order_id"].top_values == []  # every value distinct: no "top"
    assert cols["order_date"].min.isoformat() == "2026-01-01"


def test_overview_lists_tables_and_views_with_rows_and_sizes(database: Path) -> None:
    with duckdb.connect(str(database), read_only=True) as con:
        infos = {i.name: i for i in DataInspector(con).overview(["gold"])}
    assert infos["orders"].kind == "table" and infos["orders"].rows == 1000 and infos["orders"].columns == 4
    assert infos["orders"].size_bytes and infos["orders"].size_bytes > 0
    assert infos["big_orders"].kind == "view" and infos["big_orders"].size_bytes is None
    assert infos["big_orders"].rows == 334  # 1.5 * i > 1000 for i in 667..1000


def test_sample_and_markdown_rendering(database: Path) -> None:
    with duckdb.connect(str(database), read_only=True) as con:
        sample = DataInspector(con).sample("gold", "orders", 3)
    assert sample.columns == ["order_id", "store", "amount", "order_date"] and len(sample.rows) == 3
    text = to_markdown([Section("Sample", sample.columns, [list(r) for r in sample.rows])], "lab")
    assert "| order_id | store | amount | order_date |" in text and text.count("\n| ") == 4


def test_changes_between_two_snapshots(database: Path) -> None:
    with duckdb.connect(str(database)) as con:
        take_snapshot(con, "run1", ["gold"])
        con.execute("insert into gold.orders select * from gold.orders limit 10")
        con.execute("alter table gold.orders add column channel varchar")
        con.execute("create table gold.stores as select 1 as id")
        take_snapshot(con, "run2", ["gold"])
    with duckdb.connect(str(database), read_only=True) as con:
        changes = {(c.table, c.kind): c.detail for c in DataInspector(con).changes()}
    assert changes[("gold.orders", "rows")] == "1,000 → 1,010 (+1.0%)"
    assert changes[("gold.orders", "columns")] == "+channel VARCHAR"
    assert ("gold.stores", "added") in changes
    assert diff_snapshots({"a.t": (1, {"x": "INTEGER"})}, {"a.t": (1, {"x": "BIGINT"})})[0].detail == (
        "x INTEGER→BIGINT"
    )


def test_read_only_inspection_works_beside_another_reader(database: Path) -> None:
    """A second process reading the same file read_only does not block the inspector."""
    probe = (
        "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
        "print(c.execute('select count(*) from gold.orders').fetchone()[0], flush=True); time.sleep(5)"
    )
    other = subprocess.Popen([sys.executable, "-c", probe, str(database)], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "1000"
        inspector = DataInspector.open(database)
        assert inspector.profile("gold", "orders").rows == 1000
        inspector.close()
    finally:
        other.kill()
        other.wait()
