"""Gold tables of lab 1 equal values recomputed independently from the raw CSVs.

The expected values are derived here in pure Python (csv + Decimal) from the lab's sample data,
applying the business rules on their own terms, not by re-running the SQL:

* a line whose values cannot be typed (units not an integer, a date that does not exist, a
  malformed number) never reaches raw;
* a later copy of a transaction_id within the same file breaks the contract's primary key and is
  quarantined at load (the first copy in the file stays);
* across files, one copy per transaction_id survives (the one from the later file; the injected
  duplicates are exact copies, so which copy survives does not change any value);
* the surviving line is excluded when units <= 0, its store or SKU is unknown, or its revenue is
  more than 0.01 away from round(units * unit_price * (1 - discount_pct), 2).

Fixtures ``lab_db`` (DuckDB file after a full pipeline run) and ``raw_dir`` (its data/raw) come
from the buildcpg pytest plugin (buildcpg_shared.pytest_plugin).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import duckdb
import pytest

CENT = Decimal("0.01")
INTEGER = re.compile(r"^[+-]?\d+$")
REASONS = {"duplicate", "non_positive_units", "unknown_store", "unknown_sku", "revenue_mismatch"}


@dataclass(frozen=True)
class Line:
    """A sales line that survived typing (what raw.sales holds)."""

    transaction_id: str
    sale_date: dt.date
    store_id: str
    sku: str
    units: int
    unit_price: Decimal
    discount_pct: Decimal
    revenue: Decimal
    promo_id: str | None
    source_file: str


@dataclass
class Expected:
    """Everything the gold tables should contain, computed from the CSVs."""

    stores: dict[str, dict[str, str]]
    products: dict[str, dict[str, str]]
    promotions: dict[str, dict[str, str]]
    clean: list[Line] = field(default_factory=list)
    exceptions: list[tuple[str, str]] = field(default_factory=list)  # (transaction_id, reason)
    untyped: dict[str, list[str]] = field(default_factory=dict)  # kind -> transaction ids
    key_quarantined: list[tuple[str, str]] = field(default_factory=list)  # (file, transaction_id)


def read_csv(path: Path) -> Iterator[dict[str, str]]:
    """Rows of a CSV file as dicts."""
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def parse_line(row: dict[str, str], source_file: str) -> tuple[Line | None, str | None]:
    """Type a raw sales row; return (line, None) or (None, kind of typing failure)."""
    if not INTEGER.match(row["units"].strip()):
        return None, "non_integer_units"
    try:
        sale_date = dt.date.fromisoformat(row["sale_date"])
    except ValueError:
        return None, "invalid_date"
    try:
        unit_price = Decimal(row["unit_price"])
        discount = Decimal(row["discount_pct"]) if row["discount_pct"] else Decimal(0)
        revenue = Decimal(row["revenue"])
    except InvalidOperation:
        return None, "invalid_number"
    line = Line(
        row["transaction_id"],
        sale_date,
        row["store_id"],
        row["sku"],
        int(row["units"]),
        unit_price,
        discount,
        revenue,
        row["promo_id"] or None,
        source_file,
    )
    return line, None


def formula_revenue(line: Line) -> Decimal:
    """round(units * unit_price * (1 - discount_pct), 2), half away from zero."""
    value = line.units * line.unit_price * (1 - line.discount_pct)
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@functools.cache
def compute_expected(raw_dir: Path) -> Expected:
    """Apply the lab's business rules to the CSVs in ``raw_dir``."""
    expected = Expected(
        stores={r["store_id"]: r for r in read_csv(raw_dir / "stores.csv")},
        products={r["sku"]: r for r in read_csv(raw_dir / "products.csv")},
        promotions={r["promo_id"]: r for r in read_csv(raw_dir / "promotions.csv")},
    )
    copies: dict[str, list[Line]] = defaultdict(list)
    for path in sorted(raw_dir.glob("sales_*.csv")):
        seen_in_file: set[str] = set()
        for row in read_csv(path):
            line, failure = parse_line(row, path.name)
            if line is None:
                expected.untyped.setdefault(str(failure), []).append(row["transaction_id"])
            elif line.transaction_id in seen_in_file:
                expected.key_quarantined.append((path.name, line.transaction_id))
            else:
                seen_in_file.add(line.transaction_id)
                copies[line.transaction_id].append(line)
    for transaction_id, lines in copies.items():
        lines.sort(key=lambda ln: ln.source_file, reverse=True)
        kept, *others = lines
        expected.exceptions += [(transaction_id, "duplicate") for _ in others]
        if kept.units <= 0:
            reason = "non_positive_units"
        elif kept.store_id not in expected.stores:
            reason = "unknown_store"
        elif kept.sku not in expected.products:
            reason = "unknown_sku"
        elif abs(kept.revenue - formula_revenue(kept)) > CENT:
            reason = "revenue_mismatch"
        else:
            expected.clean.append(kept)
            continue
        expected.exceptions.append((transaction_id, reason))
    return expected


def ranks(values: dict[str, Decimal]) -> dict[str, int]:
    """SQL rank() by value descending: 1 + number of strictly greater values."""
    return {k: 1 + sum(other > v for other in values.values()) for k, v in values.items()}


def week_start(day: dt.date) -> dt.date:
    """Monday of the ISO week of ``day``."""
    return day - dt.timedelta(days=day.weekday())


@pytest.fixture
def expected(raw_dir: Path) -> Expected:
    """Expected values from the lab's raw CSVs (computed once per directory)."""
    return compute_expected(Path(raw_dir))


@pytest.fixture
def con(lab_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Read-only connection to the built lab database."""
    connection = duckdb.connect(str(lab_db), read_only=True)
    yield connection
    connection.close()


def test_total_net_revenue(con: duckdb.DuckDBPyConnection, expected: Expected) -> None:
    total = sum((line.revenue for line in expected.clean), Decimal(0))
    assert total > 0
    for table, column in [
        ("silver.int_sales", "revenue"),
        ("gold.sales_by_region_category_week", "net_revenue"),
        ("gold.sku_performance", "net_revenue"),
        ("gold.store_ranking", "net_revenue"),
    ]:
        (actual,) = con.execute(f"select sum({column}) from {table}").fetchone()
        assert actual == total, table


def test_sales_by_region_category_week(
    con: duckdb.DuckDBPyConnection,
    expected: Expected,
) -> None:
    groups: dict[tuple[str, str, dt.date], list[Line]] = defaultdict(list)
    for line in expected.clean:
        region = expected.stores[line.store_id]["region"]
        category = expected.products[line.sku]["category"]
        groups[(region, category, week_start(line.sale_date))].append(line)
    want = {}
    for key, lines in groups.items():
        gross = sum((ln.units * ln.unit_price for ln in lines), Decimal(0))
        net = sum((ln.revenue for ln in lines), Decimal(0))
        units = sum(ln.units for ln in lines)
        want[key] = (len({ln.transaction_id for ln in lines}), units, gross, net, gross - net)
    rows = con.execute(
        "select region, category, week_start, transactions, units, gross_revenue, net_revenue,"
        " discount_amount from gold.sales_by_region_category_week"
    ).fetchall()
    got = {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}
    assert len(rows) == len(got)
    assert got == want


def test_category_week(con: duckdb.DuckDBPyConnection, expected: Expected) -> None:
    """The table lab 4 reads: revenue per category and week, and the days of each week the data covers."""
    first = min(line.sale_date for line in expected.clean)
    last = max(line.sale_date for line in expected.clean)
    groups: dict[tuple[str, dt.date], list[Line]] = defaultdict(list)
    for line in expected.clean:
        groups[(expected.products[line.sku]["category"], week_start(line.sale_date))].append(line)
    want = {}
    for (category, monday), lines in groups.items():
        covered = sum(1 for d in range(7) if first <= monday + dt.timedelta(days=d) <= last)
        gross = sum((ln.units * ln.unit_price for ln in lines), Decimal(0))
        net = sum((ln.revenue for ln in lines), Decimal(0))
        want[(category, monday)] = (covered, sum(ln.units for ln in lines), gross, net)
    rows = con.execute(
        "select category, week_start, days_covered, units, gross_revenue, net_revenue from gold.category_week"
    ).fetchall()
    got = {(r[0], r[1]): tuple(r[2:]) for r in rows}
    assert len(rows) == len(got)
    assert got == want
    assert {v[0] for v in want.values()} > {7}  # the sample has partial first/last weeks too


def test_partial_weeks_are_flagged_in_every_weekly_table(con: duckdb.DuckDBPyConnection, expected: Expected) -> None:
    """Both weekly gold tables say how many days of each week the history covers, and flag the partial
    first and last weeks (a 2-day last week read as a whole one looks like an 80% collapse)."""
    first = min(line.sale_date for line in expected.clean)
    last = max(line.sale_date for line in expected.clean)
    mondays = {week_start(line.sale_date) for line in expected.clean}
    covered = {m: sum(1 for d in range(7) if first <= m + dt.timedelta(days=d) <= last) for m in mondays}
    want = {m: (c, c < 7) for m, c in covered.items()}
    assert {flag for _, flag in want.values()} == {True, False}  # the sample has partial weeks
    for table in ("category_week", "sales_by_region_category_week"):
        rows = con.execute(f"select distinct week_start, days_covered, is_partial_week from gold.{table}").fetchall()
        got = {r[0]: (r[1], r[2]) for r in rows}
        assert len(rows) == len(got), table
        assert got == want, table


def test_sku_performance_top5_and_shares(
    con: duckdb.DuckDBPyConnection,
    expected: Expected,
) -> None:
    units: dict[str, int] = dict.fromkeys(expected.products, 0)
    net: dict[str, Decimal] = dict.fromkeys(expected.products, Decimal(0))
    for line in expected.clean:
        units[line.sku] += line.units
        net[line.sku] += line.revenue
    rank = ranks(net)
    category_total: dict[str, Decimal] = defaultdict(Decimal)
    for sku, product in expected.products.items():
        category_total[product["category"]] += net[sku]

    top5 = sorted(expected.products, key=lambda s: (rank[s], s))[:5]
    want_top5 = [
        (
            s,
            expected.products[s]["product_name"],
            expected.products[s]["category"],
            expected.products[s]["brand"],
            units[s],
            net[s],
            rank[s],
        )
        for s in top5
    ]
    got_top5 = con.execute(
        "select sku, product_name, category, brand, units, net_revenue, revenue_rank"
        " from gold.sku_performance order by revenue_rank, sku limit 5"
    ).fetchall()
    assert got_top5 == want_top5

    rows = con.execute(
        "select sku, units, net_revenue, revenue_rank, avg_selling_price,"
        " share_of_category_revenue from gold.sku_performance"
    ).fetchall()
    assert {r[0] for r in rows} == set(expected.products)
    for sku, got_units, got_net, got_rank, price, share in rows:
        assert (got_units, got_net, got_rank) == (units[sku], net[sku], rank[sku]), sku
        if units[sku]:
            assert price == pytest.approx(float(net[sku] / units[sku]), abs=1e-4), sku
        total = category_total[expected.products[sku]["category"]]
        assert share == pytest.approx(float(net[sku] / total), rel=1e-9), sku


def test_store_ranking(con: duckdb.DuckDBPyConnection, expected: Expected) -> None:
    net: dict[str, Decimal] = dict.fromkeys(expected.stores, Decimal(0))
    transactions: dict[str, int] = dict.fromkeys(expected.stores, 0)
    for line in expected.clean:
        net[line.store_id] += line.revenue
        transactions[line.store_id] += 1
    overall = ranks(net)
    region_rank: dict[str, int] = {}
    for region in {s["region"] for s in expected.stores.values()}:
        members = {k: v for k, v in net.items() if expected.stores[k]["region"] == region}
        region_rank.update(ranks(members))
    want = {
        s: (
            expected.stores[s]["store_name"],
            expected.stores[s]["region"],
            net[s],
            transactions[s],
            overall[s],
            region_rank[s],
        )
        for s in expected.stores
    }
    rows = con.execute(
        "select store_id, store_name, region, net_revenue, transactions, revenue_rank,"
        " region_rank from gold.store_ranking"
    ).fetchall()
    assert {r[0]: tuple(r[1:]) for r in rows} == want


def test_exceptions_explain_every_dirty_line(
    con: duckdb.DuckDBPyConnection,
    expected: Expected,
) -> None:
    got = sorted(con.execute("select transaction_id, reason from silver.int_sales_exceptions").fetchall())
    assert got == sorted(expected.exceptions)
    assert {reason for _, reason in got} == REASONS  # every injected kind is caught
    # a duplicated id is kept exactly once in the clean fact
    for transaction_id in {t for t, r in got if r == "duplicate"}:
        (count,) = con.execute(
            "select count(*) from silver.int_sales where transaction_id = ?", [transaction_id]
        ).fetchone()
        assert count == 1, transaction_id


def test_in_file_duplicate_keys_are_quarantined_at_load(
    con: duckdb.DuckDBPyConnection,
    expected: Expected,
) -> None:
    assert expected.key_quarantined, "the sample data injects a duplicate id within one file"
    got = con.execute(
        "select file, regexp_extract(reason, 'transaction_id=([^)]+)', 1) from quarantine.sales"
        " where error_type = 'DUPLICATE_KEY'"
    ).fetchall()
    assert sorted(got) == sorted(expected.key_quarantined)


def test_every_typed_line_accounted_for(
    con: duckdb.DuckDBPyConnection,
    expected: Expected,
) -> None:
    (clean,) = con.execute("select count(*) from silver.int_sales").fetchone()
    (excluded,) = con.execute("select count(*) from silver.int_sales_exceptions").fetchone()
    assert (clean, excluded) == (len(expected.clean), len(expected.exceptions))


def test_untyped_lines_never_reach_silver(
    con: duckdb.DuckDBPyConnection,
    expected: Expected,
) -> None:
    assert {"non_integer_units", "invalid_date"} <= set(expected.untyped)
    typed_ids = {line.transaction_id for line in expected.clean}
    typed_ids |= {t for t, _ in expected.exceptions}
    for ids in expected.untyped.values():
        for transaction_id in set(ids) - typed_ids:
            for table in ("silver.int_sales", "silver.int_sales_exceptions"):
                (count,) = con.execute(
                    f"select count(*) from {table} where transaction_id = ?", [transaction_id]
                ).fetchone()
                assert count == 0, (table, transaction_id)
