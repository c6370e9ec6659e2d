"""Same answer either way: history loaded in steps, incrementally, equals a --full-refresh build.

A copy of the lab gets its monthly sales files one or two at a time, with a run after each; then one
month is re-sent changed (lines dropped, a line's units changed, and a copy of a transaction already
loaded from a later month, which makes that later copy a duplicate); stores.csv is re-sent with a
store moved to another region; then a month is re-sent empty (header only) and another with no
clean line left (every line's units 0). Every gold table, and the
daily summary the gold tables are built from, must then equal, row for row, a `--full-refresh`
build of the same files in the same copy.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
from buildcpg_shared.testing import assert_same_as_full_refresh, copy_lab, run_lab_dir

LAB_DIR = Path(__file__).resolve().parents[1]
STEPS = [["sales_2026_01.csv"], ["sales_2026_02.csv", "sales_2026_03.csv"], ["sales_2026_04.csv"],
         ["sales_2026_05.csv", "sales_2026_06.csv"]]  # fmt: skip


def _gold_tables(database: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(database), read_only=True) as con:
        names = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'gold' order by 1"
            ).fetchall()
        ]
        tables = {name: con.execute(f"select * from gold.{name} order by all").fetchall() for name in names}
        # the daily summary without the time each file was summed (which differs by construction)
        tables["silver.int_sales_daily"] = con.execute(
            "select * exclude (_checked_at) from silver.int_sales_daily order by all"
        ).fetchall()
        return tables


def _resend_changed(raw: Path) -> str:
    """Rewrite sales_2026_03.csv as a corrected re-send; returns the transaction id it steals from May."""
    with (raw / "sales_2026_05.csv").open(newline="") as handle:
        may = list(csv.reader(handle))
    path = raw / "sales_2026_03.csv"
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    header, lines = rows[0], rows[1:]
    kept = [line for i, line in enumerate(lines) if i % 10 != 3]  # every tenth line withdrawn
    units, price, discount, revenue = (header.index(c) for c in ("units", "unit_price", "discount_pct", "revenue"))
    line = kept[5]
    line[units] = str(int(line[units]) + 1)
    gross = int(line[units]) * float(line[price]) * (1 - float(line[discount] or 0))
    line[revenue] = f"{gross:.2f}"
    stolen = may[100]  # a transaction already loaded from May: this later copy wins
    kept.append(stolen)
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *kept])
    return stolen[0]


def _move_a_store(path: Path) -> tuple[str, str]:
    """Re-send stores.csv with its first store in another region; returns (store_id, new region)."""
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    region = rows[0].index("region")
    store = rows[1]
    store[region] = "Central" if store[region] != "Central" else "North"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return store[rows[0].index("store_id")], store[region]


def _resend_without_clean_lines(path: Path) -> None:
    """Rewrite a month with every line's units 0: all its lines become exceptions."""
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    units = rows[0].index("units")
    for line in rows[1:]:
        line[units] = "0"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)


def test_incremental_steps_equal_full_refresh(tmp_path: Path) -> None:
    lab_dir = copy_lab(LAB_DIR, tmp_path)
    raw = lab_dir / "data" / "raw"
    held = tmp_path / "held"
    held.mkdir()
    for name in (n for step in STEPS for n in step):
        shutil.move(raw / name, held / name)

    for step in STEPS:
        for name in step:
            shutil.move(held / name, raw / name)
        lab, report = run_lab_dir(lab_dir)
        assert report.ok, f"step {step}: {report.error}"
    stolen = _resend_changed(raw)
    lab, report = run_lab_dir(lab_dir)
    assert report.ok, report.error
    transform = next(s for s in report.steps if s.name == "transform")
    assert transform.status == "ok", transform.detail
    moved = _move_a_store(raw / "stores.csv")  # a changed master: every file is checked again
    lab, report = run_lab_dir(lab_dir)
    assert report.ok, report.error
    with duckdb.connect(str(lab.paths.database()), read_only=True) as con:
        regions = con.execute(
            "select distinct region from silver.int_sales_daily where store_id = ?", [moved[0]]
        ).fetchall()
    assert regions == [(moved[1],)], "a store moved to another region must move in the daily summary"
    emptied = raw / "sales_2026_01.csv"  # re-sent with its header only
    emptied.write_text(emptied.read_text().splitlines()[0] + "\n")
    _resend_without_clean_lines(raw / "sales_2026_02.csv")
    lab, report = run_lab_dir(lab_dir)
    assert report.ok, report.error

    database = lab.paths.database()
    with duckdb.connect(str(database), read_only=True) as con:
        files = con.execute(
            "select _source_file from silver.int_sales_lines_checked where transaction_id = ? order by copy_rank",
            [stolen],
        ).fetchall()
        (left,) = con.execute(
            "select count(*) from silver.int_sales_lines_checked where _source_file = 'sales_2026_01.csv'"
        ).fetchone()
    assert files == [("sales_2026_03.csv",), ("sales_2026_05.csv",)], "the re-sent copy must win"
    assert left == 0, "the rows of a file re-sent empty must leave silver"
    with duckdb.connect(str(database), read_only=True) as con:
        (clean_feb,) = con.execute(
            "select count(*) from silver.int_sales_daily "
            "where _source_file = 'sales_2026_02.csv' and exclusion_reason is null"
        ).fetchone()
        (daily_jan,) = con.execute(
            "select count(*) from silver.int_sales_daily where _source_file = 'sales_2026_01.csv'"
        ).fetchone()
    assert clean_feb == 0, "a file re-sent with no clean line must leave no clean row in the daily summary"
    assert daily_jan == 0, "the daily rows of a file re-sent empty must leave the daily summary"
    assert_same_as_full_refresh(lab_dir, _gold_tables, at_least=6)
