"""Malformed raw files: each gives one clear line (what, which file, which line/column) and loses
nothing already loaded. Every case first loads a good file, then the bad one, on a real DuckDB file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.errors import ConfigError, LoadError
from buildcpg_shared.ingest import ledger
from buildcpg_shared.ingest.load import load_file
from buildcpg_shared.registry import Lab
from conftest import LoadPending, plan_load

HEADER = b"order_id,order_date,amount\n"

# name -> (bytes of data/raw/orders_2.csv, expected outcome)
# outcome: ("error", text in the one-line message) or ("quarantine", good rows, [(line, column, error_type)])
CASES: dict[str, tuple[bytes, tuple[object, ...]]] = {
    "renamed_column": (b"order_id,date,amount\nB1,2026-01-01,1\n", ("error", "missing order_date; unexpected date")),
    "missing_column": (b"order_id,amount\nB1,1\n", ("error", "missing order_date")),
    "extra_column": (b"order_id,order_date,amount,note\nB1,2026-01-01,1,x\n", ("error", "unexpected note")),
    "wrong_type": (HEADER + b"B1,2026-01-01,1.00\nB2,2026-01-02,abc\n", ("quarantine", 1, [(3, "amount", "CAST")])),
    "bad_date": (HEADER + b"B1,2026-13-01,1.00\nB2,2026-01-02,2\n", ("quarantine", 1, [(2, "order_date", "CAST")])),
    "empty_file": (b"", ("error", "the file is empty")),
    "header_only": (HEADER, ("quarantine", 0, [])),
    "bom": (b"\xef\xbb\xbf" + HEADER + b"B1,2026-01-01,1.00\n", ("quarantine", 1, [])),
    "crlf": (HEADER.replace(b"\n", b"\r\n") + b"B1,2026-01-01,1.00\r\nB2,2026-01-02,2\r\n", ("quarantine", 2, [])),
    "quoted_newline": (
        HEADER + b'"B\n1",2026-01-01,1.00\nB2,2026-01-02,x\nB3,2026-01-03,3\n',
        ("quarantine", 2, [(3, "amount", "CAST")]),
    ),
    "other_delimiter": (b"order_id;order_date;amount\nB1;2026-01-01;1\n", ("error", "missing order_id, order_date")),
    "truncated_last_line": (
        HEADER + b"B1,2026-01-01,1.00\nB2,2026-0",
        ("quarantine", 1, [(3, "amount", "MISSING COLUMNS")]),  # the date is read as text: one reason
    ),
    "non_utf8": (
        HEADER + b"B1,2026-01-01,1.00\nB\xff2,2026-01-02,2\n",
        ("quarantine", 1, [(3, "order_id", "INVALID ENCODING")]),
    ),
    "duplicate_key": (
        HEADER + b"B1,2026-01-01,1\nB2,2026-01-02,2\nB1,2026-01-03,3\n",
        ("quarantine", 2, [(4, "order_id", "DUPLICATE_KEY")]),
    ),
    "lossy_decimal": (
        HEADER + b"B1,2026-01-01,1.00\nB2,2026-01-02,3.535\n",
        ("quarantine", 1, [(3, "amount", "LOSSY_CAST")]),
    ),
    "timestamp_in_date": (
        HEADER + b"B1,2026-01-01 12:30:00,1\nB2,2026-01-02,2\n",
        ("quarantine", 1, [(2, "order_date", "LOSSY_CAST")]),
    ),
    "decimal_overflow": (HEADER + b"B1,2026-01-01,123456789012.5\n", ("quarantine", 0, [(2, "amount", "CAST")])),
    "one_mb_field": (HEADER + b'"' + b"B" * 1_000_000 + b'",2026-01-01,1\n', ("quarantine", 1, [])),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_file_gives_one_clear_line_and_loses_nothing(
    case: str, tiny_lab: Path, tmp_path: Path, load_pending: LoadPending
) -> None:
    content, outcome = CASES[case]
    lab = Lab.from_dir(tiny_lab)
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    load_pending(lab, con)  # the good file: orders_1.csv, 2 good rows (+2 quarantined)
    before = con.execute("select * from raw.orders order by order_id").fetchall()
    bad = lab.paths.raw_dir / "orders_2.csv"
    bad.write_bytes(content)
    if outcome[0] == "error":
        with pytest.raises(LoadError) as info:
            load_pending(lab, con)
        message = str(info.value)
        assert "\n" not in message and message.startswith("data/raw/orders_2.csv: ")
        assert str(outcome[1]) in message, message
        assert "orders_2.csv" not in ledger.read_ledger(con)
        added: list[object] = []
    else:
        (loaded,) = load_pending(lab, con)
        _, good, problems = outcome
        assert loaded.rows == good
        got = con.execute(
            "select line, column_name, error_type from quarantine.orders where file = 'orders_2.csv'"
            " order by line, column_name"
        ).fetchall()
        assert got == problems
        if problems:
            assert loaded.first_problem.startswith(f"line {problems[0][0]}")
            assert "\n" not in loaded.first_problem
        entry = ledger.read_ledger(con)["orders_2.csv"]
        assert (entry.rows, entry.rejected) == (good, len({p[0] for p in problems}))
        added = con.execute("select * from raw.orders where _source_file = 'orders_2.csv'").fetchall()
        assert len(added) == good
    after = con.execute("select * from raw.orders where _source_file = 'orders_1.csv' order by order_id").fetchall()
    assert after == before  # what was loaded before is intact
    assert bad.read_bytes() == content  # raw files are never modified


def test_one_mb_field_is_loaded_whole(tiny_lab: Path, tmp_path: Path, load_pending: LoadPending) -> None:
    lab = Lab.from_dir(tiny_lab)
    (lab.paths.raw_dir / "orders_2.csv").write_bytes(CASES["one_mb_field"][0])
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    load_pending(lab, con)
    assert con.execute("select length(order_id) from raw.orders where _source_file = 'orders_2.csv'").fetchone() == (
        1_000_000,
    )


def test_file_renamed_during_the_run_is_one_line_then_loaded_under_its_new_name(
    tiny_lab: Path, tmp_path: Path, load_pending: LoadPending
) -> None:
    lab = Lab.from_dir(tiny_lab)
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    plan = plan_load(lab, con)
    (raw,) = plan.pending
    raw.path.rename(raw.path.with_name("orders_renamed.csv"))
    with pytest.raises(LoadError) as info:
        load_file(con, raw, lab.config.sources["orders"], "r")
    assert str(info.value) == (
        "data/raw/orders_1.csv: disappeared before it was loaded (renamed or deleted during the run); "
        "the next run picks it up under its new name"
    )
    assert con.execute("select count(*) from raw.orders").fetchone() == (0,)
    (loaded,) = load_pending(lab, con)
    assert (loaded.file, loaded.rows) == ("orders_renamed.csv", 2)


def test_declared_delimiter_and_encoding_are_used(tiny_lab: Path, tmp_path: Path, load_pending: LoadPending) -> None:
    yaml = (
        (tiny_lab / "lab.yaml")
        .read_text()
        .replace("    primary_key", '    delimiter: ";"\n    encoding: latin-1\n    primary_key')
    )
    (tiny_lab / "lab.yaml").write_text(yaml)
    (tiny_lab / "data" / "raw" / "orders_1.csv").write_bytes(
        "order_id;order_date;amount\nCafé;2026-01-01;1,5\n".encode("latin-1").replace(b"1,5", b"1.5")
    )
    lab = Lab.from_dir(tiny_lab)
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    load_pending(lab, con)
    assert con.execute("select order_id, amount::varchar from raw.orders").fetchall() == [("Café", "1.50")]


def test_unknown_encoding_is_refused_in_lab_yaml(tiny_lab: Path) -> None:
    text = (tiny_lab / "lab.yaml").read_text().replace("    primary_key", "    encoding: latin-9x\n    primary_key")
    (tiny_lab / "lab.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        Lab.from_dir(tiny_lab).config  # noqa: B018
    assert "sources.orders.encoding: unknown encoding 'latin-9x'" in str(info.value)
    assert "\n" not in str(info.value)


def test_a_byte_the_declared_encoding_lacks_is_quarantined_with_its_line(
    tiny_lab: Path, tmp_path: Path, load_pending: LoadPending
) -> None:
    text = (tiny_lab / "lab.yaml").read_text().replace("    primary_key", "    encoding: cp1252\n    primary_key")
    (tiny_lab / "lab.yaml").write_text(text)
    content = HEADER + "B1,2026-01-01,1\nCafé,2026-01-02,2\n".encode("cp1252") + b"B\x81,2026-01-03,3\n"
    bad = tiny_lab / "data" / "raw" / "orders_1.csv"
    bad.write_bytes(content)  # 0x81 is undefined in cp1252
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    (loaded,) = load_pending(Lab.from_dir(tiny_lab), con)
    assert con.execute("select order_id from raw.orders order by 1").fetchall() == [("B1",), ("Café",)]
    assert con.execute("select line, error_type from quarantine.orders").fetchall() == [(4, "INVALID ENCODING")]
    assert loaded.rejected == 1
    assert bad.read_bytes() == content


def test_a_missing_mapped_header_is_one_line_and_loses_nothing(
    tiny_lab: Path, tmp_path: Path, load_pending: LoadPending
) -> None:
    text = (
        (tiny_lab / "lab.yaml")
        .read_text()
        .replace('amount: "DECIMAL(10,2)"', 'amount: {type: "DECIMAL(10,2)", from: "Net Amount"}')
    )
    (tiny_lab / "lab.yaml").write_text(text)
    lab = Lab.from_dir(tiny_lab)
    (lab.paths.raw_dir / "orders_1.csv").write_text("order_id,order_date,Net Amount\nA1,2026-01-01,10.50\n")
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    load_pending(lab, con)
    bad = lab.paths.raw_dir / "orders_2.csv"
    bad.write_text("order_id,order_date,amount\nB1,2026-01-01,1\n")  # the export renamed the header back
    with pytest.raises(LoadError) as info:
        load_pending(lab, con)
    assert str(info.value) == (
        "data/raw/orders_2.csv: header does not match the contract of source 'orders': missing header "
        "'Net Amount' (column amount); unexpected amount. File not loaded; fix the file or lab.yaml"
    )
    assert con.execute("select order_id, amount::varchar from raw.orders").fetchall() == [("A1", "10.50")]
    assert "orders_2.csv" not in ledger.read_ledger(con)
