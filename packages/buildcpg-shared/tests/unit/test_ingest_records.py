"""Every load reconciles a file's data records with its rows loaded + quarantined (ingest/records.py)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.errors import LoadError
from buildcpg_shared.ingest import ledger
from buildcpg_shared.ingest.load import load_file
from buildcpg_shared.ingest.records import RecordCount, byte_lines, csv_records
from buildcpg_shared.registry import Lab
from conftest import plan_load


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"a,b\n1,2\n3,4\n", 3),
        (b"a,b\r\n1,2\r\n3,4", 3),  # Windows breaks, no break after the last line
        (b"a,b\r1,2\r3,4\r", 3),  # old Mac breaks
        (b"a,b\n1,2\n\n3,4\n", 4),  # a blank line is a line
        (b"a,b\n1,2\n3,4\n\n\r\n", 3),  # but not blank lines at the very end
        (b"", 0),
    ],
)
def test_byte_lines_counts_every_kind_of_line_break(tmp_path: Path, data: bytes, lines: int) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert byte_lines(path) == lines


def test_a_crlf_split_over_two_blocks_is_one_line_break(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"a" * ((1 << 20) - 1) + b"\r\n" + b"b\r\n")
    assert byte_lines(path) == 2


def test_utf16_lines_are_left_to_the_record_count(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("a,b\n1,\u0a0d\n", encoding="utf-16")
    assert byte_lines(path, "utf-16") is None
    assert RecordCount(path, encoding="utf-16").agrees(1)


def test_csv_records_respect_quotes_and_skip_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b'a,b\n1,"two\n\nlines"\n\n3, "x\ny"\n5,say "hi"\n')
    assert csv_records(path) == 3
    count = RecordCount(path)
    assert count.agrees(3) and not count.agrees(2)  # lines - 1 = 7 > 2: the records decide


def test_a_field_longer_than_the_csv_modules_default_limit_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("a,b\n1," + "x" * 300_000 + "\n2,3\n")
    assert csv_records(path) == 2


def test_a_record_lost_by_both_reads_refuses_the_file_and_keeps_its_old_rows(tiny_lab: Path, tmp_path: Path) -> None:
    """DuckDB's ordered read swallows an unterminated quote and the rest of the file without a reject
    (seen on DuckDB 2.0.1). The lossy ``10.505`` sends the file down the ordered read, where it is
    quarantined; the record from the quote on is in neither table."""
    lab = Lab.from_dir(tiny_lab)
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    (raw,) = plan_load(lab, con).pending
    load_file(con, raw, lab.config.sources["orders"], "r1")
    before = con.execute("select * exclude (_loaded_at) from raw.orders order by all").fetchall()
    raw.path.write_text('order_id,order_date,amount\nA1,2026-01-01,10.505\nA2,2026-01-02,"4.25\nA3,2026-01-03,1\n')
    (changed,) = plan_load(lab, con).pending
    with pytest.raises(LoadError) as info:
        load_file(con, changed, lab.config.sources["orders"], "r2")
    assert str(info.value) == (
        "data/raw/orders_1.csv: 2 data record(s) in the file but 0 loaded + 1 quarantined; "
        "file not loaded, its previous rows kept"
    )
    assert con.execute("select * exclude (_loaded_at) from raw.orders order by all").fetchall() == before
    assert ledger.read_ledger(con)["orders_1.csv"].rows == 2  # the first version's entry
    raw.path.write_text("order_id,order_date,amount\nA1,2026-01-01,10.50\nA3,2026-01-03,1\n")  # fixed
    (fixed,) = plan_load(lab, con).pending
    assert load_file(con, fixed, lab.config.sources["orders"], "r3").rows == 2
