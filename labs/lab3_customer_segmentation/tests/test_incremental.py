"""Same answer either way: lab 3's history loaded year by year, incrementally, equals a --full-refresh build.

A copy of the lab gets its transaction files one at a time, with a run after each; then a year is
re-sent changed (every seventh transaction withdrawn, one amount changed) and another re-sent empty
(header only). The per-file customer totals must then hold only the files that still have rows,
and every gold table and int_customer_measures must equal, row for row, a `--full-refresh` build
of the same files in the same copy.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
from buildcpg_shared.testing import assert_same_as_full_refresh, copy_lab, run_lab_dir

LAB_DIR = Path(__file__).resolve().parents[1]
YEARS = ["transactions_2024.csv", "transactions_2025.csv", "transactions_2026.csv"]


def _tables(database: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(database), read_only=True) as con:
        names = [
            f"gold.{name}"
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'gold' order by 1"
            ).fetchall()
        ] + ["silver.int_customer_measures"]
        return {name: con.execute(f"select * from {name} order by all").fetchall() for name in names}


def _resend_changed(path: Path) -> None:
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    header, lines = rows[0], rows[1:]
    kept = [line for i, line in enumerate(lines) if i % 7 != 2]
    amount = header.index("amount")
    kept[3][amount] = f"{float(kept[3][amount]) + 12.34:.2f}"
    with path.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([header, *kept])


def test_year_by_year_equals_full_refresh(tmp_path: Path) -> None:
    lab_dir = copy_lab(LAB_DIR, tmp_path)
    raw = lab_dir / "data" / "raw"
    held = tmp_path / "held"
    held.mkdir()
    for name in YEARS:
        shutil.move(raw / name, held / name)
    for name in YEARS:
        shutil.move(held / name, raw / name)
        lab, report = run_lab_dir(lab_dir)
        assert report.ok, f"{name}: {report.error}"
    database = lab.paths.database()
    with duckdb.connect(str(database), read_only=True) as con:
        (first_loaded,) = con.execute(
            "select max(_loaded_at) from silver.int_customer_file_totals where _source_file = ?", [YEARS[0]]
        ).fetchone()

    _resend_changed(raw / YEARS[1])
    emptied = raw / YEARS[2]
    emptied.write_text(emptied.read_text().splitlines()[0] + "\n")
    lab, report = run_lab_dir(lab_dir)
    assert report.ok, report.error
    with duckdb.connect(str(database), read_only=True) as con:
        files = con.execute(
            "select _source_file, max(_loaded_at), sum(purchases) from silver.int_customer_file_totals "
            "group by 1 order by 1"
        ).fetchall()
        staged = con.execute(
            "select _source_file, count(*) from bronze.stg_transactions group by 1 order by 1"
        ).fetchall()
    assert [f[0] for f in files] == YEARS[:2], "the rows of a file re-sent empty must leave the per-file totals"
    assert files[0][1] == first_loaded, "a file the run did not load must keep its rows as they were"
    assert [(f[0], f[2]) for f in files] == staged, "each file's totals count exactly its staged transactions"
    assert_same_as_full_refresh(lab_dir, _tables, at_least=5)
