"""Contract rules beyond types, enforced at load in SQL: each violating row quarantined with its line."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.errors import ConfigError, LoadError
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


STRICT_YAML = """\
name: lab9_tiny
sources:
  orders:
    files: "orders*.csv"
    columns:
      order_id: VARCHAR
      units: INTEGER
      small: TINYINT
      price: "DECIMAL(10,2)"
      rounded: {type: "DECIMAL(10,2)", round: true}
      day: DATE
"""


def test_values_that_do_not_fit_their_type_exactly_are_quarantined(
    tiny_lab: Path, tmp_path: Path, load_pending: LoadPending
) -> None:
    (tiny_lab / "lab.yaml").write_text(STRICT_YAML)
    raw = tiny_lab / "data" / "raw" / "orders_1.csv"
    content = (
        "order_id,units,small,price,rounded,day\n"
        "O1,3,7,1.50,1.234,2026-01-01\n"  # line 2: good; rounded is rounded as declared
        "O2,3.53,7,1.50,1,2026-01-01\n"  # line 3: 3.53 is no INTEGER (DuckDB alone stores 4)
        "O3,1e3,7,1.5,1,2026-01-01\n"  # line 4: good, 1e3 is exactly 1000
        "O4,4.0,300,1.5,1,2026-01-01\n"  # line 5: 300 does not fit TINYINT
        "O5,4,1e3,1.5,1,2026-01-01\n"  # line 6: nor does 1e3
        "O6,4,1,1.234,1,2026-01-01\n"  # line 7: more decimals than DECIMAL(10,2)
        "O7,4,1,1.2300,1,2026-01-01 10:00:00\n"  # line 8: a time of day in a DATE
        "O8, 4 ,1,1.235e1,1,2026-01-02\n"  # line 9: good, 12.35
    )
    raw.write_text(content)
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    (loaded,) = load_pending(Lab.from_dir(tiny_lab), con)
    kept = con.execute("select order_id, units, price::varchar, rounded::varchar from raw.orders order by 1").fetchall()
    assert kept == [("O1", 3, "1.50", "1.23"), ("O3", 1000, "1.50", "1.00"), ("O8", 4, "12.35", "1.00")]
    bad = con.execute("select line, column_name, error_type, reason from quarantine.orders order by line").fetchall()
    assert [b[:3] for b in bad] == [
        (3, "units", "LOSSY_CAST"),
        (5, "small", "CAST"),
        (6, "small", "CAST"),
        (7, "price", "LOSSY_CAST"),
        (8, "day", "LOSSY_CAST"),
    ]
    assert bad[0][3] == "value 3.53 of units does not fit INTEGER exactly (it would be stored as 4)"
    assert bad[3][3] == "value 1.234 of price does not fit DECIMAL(10,2) exactly (it would be stored as 1.23)"
    assert (loaded.rows, loaded.rejected) == (3, 5)
    assert raw.read_text() == content


def test_round_is_only_for_decimals(tiny_lab: Path) -> None:
    (tiny_lab / "lab.yaml").write_text(STRICT_YAML.replace("units: INTEGER", "units: {type: INTEGER, round: true}"))
    with pytest.raises(ConfigError, match=r"sources.orders.columns.units: round: only a DECIMAL column can round"):
        Lab.from_dir(tiny_lab).config  # noqa: B018


REAL_FILES_YAML = """\
name: lab9_tiny
sources:
  sales:
    files: "sales*.csv"
    headers: snake_case
    delimiter: ";"
    decimal_separator: ","
    encoding: cp1252
    columns:
      sale_date: {type: DATE, format: "%d/%m/%Y"}
      store_name: VARCHAR
      yoplait: {type: INTEGER, from: "feat.yoplait"}
      units: INTEGER
      price: "DECIMAL(10,2)"
      ratio: DOUBLE
"""


def _real_files_lab(tiny_lab: Path, content: bytes) -> Lab:
    (tiny_lab / "lab.yaml").write_text(REAL_FILES_YAML)
    for old in (tiny_lab / "data" / "raw").iterdir():
        old.unlink()
    (tiny_lab / "data" / "raw" / "sales_1.csv").write_bytes(content)
    return Lab.from_dir(tiny_lab)


def test_mapped_headers_formats_decimal_comma_and_cp1252(
    tiny_lab: Path, tmp_path: Path, load_pending: LoadPending
) -> None:
    content = (
        "Sale Date;Store Name;UNITS;feat.yoplait;Price;Ratio\n"  # mapped, normalised, reordered
        "31/01/2026;Café €uro;5;1;2,50;0,5\n"  # line 2: good (€ is 0x80 in cp1252)
        "01/02/2026;B;3;0;1,234;1\n"  # line 3: more decimals than DECIMAL(10,2)
        "2026-02-01;C;3;0;1,00;1\n"  # line 4: not in the declared date format
        "01/02/2026;D;3;0;1.000;1\n"  # line 5: a '.' where the separator is ',' (1.000 may mean 1000)
    ).encode("cp1252")
    lab = _real_files_lab(tiny_lab, content)
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    (loaded,) = load_pending(lab, con)
    columns = [r[0] for r in con.execute("select column_name from (describe raw.sales)").fetchall()]
    assert columns == ["sale_date", "store_name", "yoplait", "units", "price", "ratio", "_source_file", "_loaded_at"]
    assert con.execute(
        "select sale_date::varchar, store_name, yoplait, units, price::varchar, ratio from raw.sales"
    ).fetchall() == [("2026-01-31", "Café €uro", 1, 5, "2.50", 0.5)]
    bad = con.execute("select line, column_name, error_type, reason from quarantine.sales order by line").fetchall()
    assert [b[:3] for b in bad] == [(3, "price", "LOSSY_CAST"), (4, "sale_date", "CAST"), (5, "price", "CAST")]
    assert bad[1][3] == "value 2026-02-01 of sale_date is not a valid DATE in format %d/%m/%Y"
    assert (loaded.rows, loaded.rejected) == (1, 3)
    assert (lab.paths.raw_dir / "sales_1.csv").read_bytes() == content  # never modified


def test_a_missing_mapped_header_is_one_line_naming_file_and_header(
    tiny_lab: Path, tmp_path: Path, load_pending: LoadPending
) -> None:
    content = "Sale Date;Store Name;UNITS;Price;Ratio\n31/01/2026;A;5;2,50;1\n".encode("cp1252")
    lab = _real_files_lab(tiny_lab, content)
    with pytest.raises(LoadError) as info:
        load_pending(lab, duckdb.connect(str(tmp_path / "t.duckdb")))
    assert str(info.value) == (
        "data/raw/sales_1.csv: header does not match the contract of source 'sales': missing header "
        "'feat.yoplait' (column yoplait). File not loaded; fix the file or lab.yaml"
    )


def test_timestamp_formats_per_column_and_utf16(tiny_lab: Path, tmp_path: Path, load_pending: LoadPending) -> None:
    (tiny_lab / "lab.yaml").write_text(
        'name: lab9_tiny\nsources:\n  orders:\n    files: "orders*.csv"\n    encoding: utf-16\n    columns:\n'
        "      order_id: VARCHAR\n"
        '      placed: {type: TIMESTAMP, format: "%d.%m.%Y %H:%M"}\n'
        '      day: {type: DATE, format: "%d.%m.%Y %H:%M"}\n'
    )
    content = (
        "order_id,placed,day\n"
        "Ö1,31.01.2026 09:30,31.01.2026 00:00\n"  # line 2: good
        "O2,2026-01-31 09:30,31.01.2026 00:00\n"  # line 3: placed is not in its format
        "O3,31.01.2026 09:30,31.01.2026 10:15\n"  # line 4: the DATE would lose 10:15
    ).encode("utf-16")
    raw = tiny_lab / "data" / "raw" / "orders_1.csv"
    raw.write_bytes(content)
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    (loaded,) = load_pending(Lab.from_dir(tiny_lab), con)
    got = con.execute("select order_id, placed::varchar, day::varchar from raw.orders").fetchall()
    assert got == [("Ö1", "2026-01-31 09:30:00", "2026-01-31")]
    bad = con.execute("select line, column_name, error_type from quarantine.orders order by line").fetchall()
    assert bad == [(3, "placed", "CAST"), (4, "day", "LOSSY_CAST")]
    assert (loaded.rows, loaded.rejected) == (1, 2)
    assert raw.read_bytes() == content
