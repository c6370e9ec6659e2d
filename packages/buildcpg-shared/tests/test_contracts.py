"""Contract rules beyond types, enforced at load in SQL: each violating row quarantined with its line."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.errors import LoadError
from buildcpg_shared.ingest import ledger
from buildcpg_shared.registry import Lab
from conftest import LoadPending

RULES_YAML = """\
name: lab9_tiny
sources:
  orders:
    files: "orders*.csv"
    primary_key: [order_id]
    max_reject_rate: {rate}
    date_format: "%d/%m/%Y"
    columns:
      order_id: {{type: VARCHAR, required: true, pattern: "O[0-9]+"}}
      order_date: {{type: DATE, min: "2026-01-01"}}
      region: {{type: VARCHAR, accepted_values: [North, South]}}
      units: {{type: INTEGER, min: 1, max: 100}}
"""


def _lab(tiny_lab: Path, text: str, rate: float = 1.0) -> Lab:
    (tiny_lab / "lab.yaml").write_text(RULES_YAML.format(rate=rate))
    for old in (tiny_lab / "data" / "raw").iterdir():
        old.unlink()
    (tiny_lab / "data" / "raw" / "orders_1.csv").write_text(text)
    return Lab.from_dir(tiny_lab)


def test_each_rule_quarantines_its_rows_with_line_and_reason(
    tiny_lab: Path, tmp_path: Path, load_pending: LoadPending
) -> None:
    lab = _lab(
        tiny_lab,
        "order_id,order_date,region,units\n"
        "O1,01/01/2026,North,5\n"  # line 2: good
        'O2,02/01/2026,"Sou\nth",5\n'  # line 3 (two physical lines): bad region
        "O3,2026-01-03,North,5\n"  # line 4: not the declared date format (reader reject)
        ",04/01/2026,North,5\n"  # line 5: required id missing
        "O5,05/01/2025,South,5\n"  # line 6: date below min
        "O6,06/01/2026,South,0\n"  # line 7: units below min
        "X7,07/01/2026,South,5\n"  # line 8: pattern
        "O1,08/01/2026,South,7\n"  # line 9: duplicate key of line 2
        "O9,09/01/2026,South,100\n",  # line 10: good
    )
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    (loaded,) = load_pending(lab, con)
    good = con.execute("select order_id, units from raw.orders order by order_id").fetchall()
    assert good == [("O1", 5), ("O9", 100)]
    bad = con.execute("select line, column_name, error_type, reason from quarantine.orders order by line").fetchall()
    assert [(b[0], b[1], b[2]) for b in bad] == [
        (3, "region", "ACCEPTED_VALUES"),
        (4, "order_date", "CAST"),
        (5, "order_id", "REQUIRED"),
        (6, "order_date", "RANGE"),
        (7, "units", "RANGE"),
        (8, "order_id", "PATTERN"),
        (9, "order_id", "DUPLICATE_KEY"),
    ]
    reasons = {b[0]: b[3] for b in bad}
    assert "is not one of: North, South" in reasons[3]
    assert reasons[7] == "value 0 of units is below the range [1, 100]"
    assert reasons[9] == "duplicate primary key (order_id=O1) first seen on line 2"
    assert (loaded.rows, loaded.rejected) == (2, 7)
    assert loaded.first_problem.startswith("line 3 column region: value Sou th")
    entry = ledger.read_ledger(con)["orders_1.csv"]
    assert (entry.rows, entry.rejected) == (2, 7)


def test_clean_file_takes_the_fast_path(tiny_lab: Path, tmp_path: Path, load_pending: LoadPending) -> None:
    lab = _lab(tiny_lab, "order_id,order_date,region,units\nO1,01/01/2026,North,5\nO2,02/01/2026,South,6\n")
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    (loaded,) = load_pending(lab, con)
    assert (loaded.rows, loaded.rejected, loaded.first_problem) == (2, 0, "")
    assert con.execute("select count(*) from quarantine.orders").fetchone() == (0,)


def test_reject_rate_above_threshold_fails_and_keeps_previous_rows(
    tiny_lab: Path, tmp_path: Path, load_pending: LoadPending
) -> None:
    lab = _lab(tiny_lab, "order_id,order_date,region,units\nO1,01/01/2026,North,5\nO2,02/01/2026,South,6\n", 0.25)
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    load_pending(lab, con)
    raw = lab.paths.raw_dir / "orders_1.csv"
    raw.write_text("order_id,order_date,region,units\nO1,01/01/2026,North,5\nO2,02/01/2026,West,6\n")
    with pytest.raises(LoadError) as info:
        load_pending(lab, con)
    assert str(info.value) == (
        "data/raw/orders_1.csv: 1 of 2 row(s) (50.0%) break the contract of source 'orders', above "
        "max_reject_rate 25.0%; file not loaded, its previous rows kept; first: line 3 column region: "
        "value West of region is not one of: North, South"
    )
    assert con.execute("select order_id, region from raw.orders order by 1").fetchall() == [
        ("O1", "North"),
        ("O2", "South"),
    ]
    assert con.execute("select count(*) from quarantine.orders").fetchone() == (0,)
    assert ledger.read_ledger(con)["orders_1.csv"].rows == 2
