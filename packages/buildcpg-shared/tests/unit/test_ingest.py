"""Check and Load on real DuckDB files: ledger, quarantine, header contract, atomic replace."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.errors import LoadError
from buildcpg_shared.ingest import check as check_module
from buildcpg_shared.ingest import ledger
from buildcpg_shared.ingest.check import scan
from buildcpg_shared.ingest.load import ensure_tables, load_file
from buildcpg_shared.pipeline.database import reset_for_full_refresh
from buildcpg_shared.registry import Lab
from conftest import plan_load


def _load_all(lab: Lab, con: duckdb.DuckDBPyConnection) -> check_module.CheckResult:
    ledger.ensure_ledger(con)
    plan = scan(lab.paths.raw_dir, lab.config, ledger.read_ledger(con))
    for name, source in lab.config.sources.items():
        ensure_tables(con, name, source)
    for raw in plan.pending:
        load_file(con, raw, lab.config.sources[raw.source], "run1")
    return plan


def test_load_types_rejects_to_quarantine_and_ledger(tiny_lab: Path, tmp_path: Path) -> None:
    lab = Lab.from_dir(tiny_lab)
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    plan = _load_all(lab, con)
    assert [f.rel for f in plan.new] == ["orders_1.csv"]
    rows = con.execute("select order_id, amount, _source_file from raw.orders order by 1").fetchall()
    assert [(r[0], str(r[1]), r[2]) for r in rows] == [("A1", "10.50", "orders_1.csv"), ("A4", "4.25", "orders_1.csv")]
    quarantined = con.execute("select line, column_name, error_type from quarantine.orders order by line").fetchall()
    assert quarantined == [(3, "amount", "CAST"), (4, "order_date", "CAST")]
    entry = ledger.read_ledger(con)["orders_1.csv"]
    assert (entry.rows, entry.rejected) == (2, 2)
    assert len(entry.sha256) == 64


def test_unchanged_files_are_not_read(tiny_lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lab = Lab.from_dir(tiny_lab)
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    _load_all(lab, con)

    def no_hash(path: Path, chunk: int = 0) -> str:
        raise AssertionError(f"{path} was read although unchanged")

    monkeypatch.setattr(check_module, "file_sha256", no_hash)
    plan = scan(lab.paths.raw_dir, lab.config, ledger.read_ledger(con))
    assert plan.pending == [] and [f.rel for f in plan.unchanged] == ["orders_1.csv"]


def test_touched_but_same_content_is_not_reloaded(tiny_lab: Path, tmp_path: Path) -> None:
    lab = Lab.from_dir(tiny_lab)
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    _load_all(lab, con)
    path = lab.paths.raw_dir / "orders_1.csv"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000_000))
    plan = scan(lab.paths.raw_dir, lab.config, ledger.read_ledger(con))
    assert plan.pending == [] and [f.rel for f in plan.touched] == ["orders_1.csv"]


def test_changed_file_replaces_exactly_its_rows(tiny_lab: Path, tmp_path: Path) -> None:
    lab = Lab.from_dir(tiny_lab)
    (lab.paths.raw_dir / "orders_2.csv").write_text("order_id,order_date,amount\nB1,2026-03-01,1.00\n")
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    _load_all(lab, con)
    (lab.paths.raw_dir / "orders_1.csv").write_text("order_id,order_date,amount\nA9,2026-01-09,9.00\n")
    plan = _load_all(lab, con)
    assert [f.rel for f in plan.changed] == ["orders_1.csv"]
    rows = con.execute("select order_id, _source_file from raw.orders order by 1").fetchall()
    assert rows == [("A9", "orders_1.csv"), ("B1", "orders_2.csv")]
    assert con.execute("select count(*) from quarantine.orders").fetchone() == (0,)


def test_header_mismatch_rejects_whole_file_and_keeps_old_rows(tiny_lab: Path, tmp_path: Path) -> None:
    lab = Lab.from_dir(tiny_lab)
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    _load_all(lab, con)
    raw = lab.paths.raw_dir / "orders_1.csv"
    raw.write_text("order_id,date,amount,extra\nZ1,2026-01-01,1,x\n")
    with pytest.raises(LoadError) as info:
        _load_all(lab, con)
    message = str(info.value)
    assert "data/raw/orders_1.csv: header does not match the contract of source 'orders'" in message
    assert "missing order_date" in message and "unexpected date, extra" in message
    assert con.execute("select count(*) from raw.orders").fetchone() == (2,)
    assert raw.read_text().startswith("order_id,date")  # raw files are never modified


def test_check_lists_a_bad_header_with_the_line_load_refuses_the_file_with(tiny_lab: Path, tmp_path: Path) -> None:
    lab = Lab.from_dir(tiny_lab)
    (lab.paths.raw_dir / "orders_2.csv").write_text("order_id,amount\nB1,1.00\n")  # no order_date
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    plan = plan_load(lab, con)
    assert [(u.rel, u.line) for u in plan.invalid] == [
        (
            "orders_2.csv",
            "data/raw/orders_2.csv: header does not match the contract of source 'orders': missing order_date. "
            "File not loaded; fix the file or lab.yaml",
        )
    ]
    bad = next(f for f in plan.pending if f.rel == "orders_2.csv")
    with pytest.raises(LoadError) as info:
        load_file(con, bad, lab.config.sources["orders"], "r1")
    assert str(info.value) == plan.invalid[0].line


def test_empty_file_is_a_clear_error(tiny_lab: Path, tmp_path: Path) -> None:
    lab = Lab.from_dir(tiny_lab)
    (lab.paths.raw_dir / "orders_empty.csv").write_text("")
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    with pytest.raises(LoadError, match=r"data/raw/orders_empty.csv: the file is empty"):
        _load_all(lab, con)


def test_failed_load_rolls_back(tiny_lab: Path, tmp_path: Path) -> None:
    """A new version of a loaded file that fails half-way (after its old rows were deleted in the
    transaction) leaves the old rows, the old quarantine and the old ledger entry exactly as they were."""
    lab_yaml = tiny_lab / "lab.yaml"
    lab_yaml.write_text(
        lab_yaml.read_text().replace("primary_key: [order_id]", "primary_key: [order_id]\n    max_reject_rate: 0.6")
    )
    lab = Lab.from_dir(tiny_lab)
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    _load_all(lab, con)  # 2 of 4 rows rejected: within 0.6

    def state() -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], ledger.LedgerEntry]:
        rows = con.execute(
            "select order_id, amount from raw.orders where _source_file = 'orders_1.csv' order by 1"
        ).fetchall()
        quarantined = con.execute(
            "select line, csv_line from quarantine.orders where file = 'orders_1.csv' order by 1"
        ).fetchall()
        return rows, quarantined, ledger.read_ledger(con)["orders_1.csv"]

    before = state()
    assert [r[0] for r in before[0]] == ["A1", "A4"] and len(before[1]) == 2
    raw = lab.paths.raw_dir / "orders_1.csv"
    raw.write_text("order_id,order_date,amount\nZ1,2026-03-01,1.00\nZ2,2026-03-02,x\nZ3,2026-03-03,y\nZ4,bad,1\n")
    plan = scan(lab.paths.raw_dir, lab.config, ledger.read_ledger(con))
    with pytest.raises(LoadError, match=r"data/raw/orders_1.csv: 3 of 4 row\(s\) .* above max_reject_rate"):
        load_file(con, plan.pending[0], lab.config.sources["orders"], "run2")
    assert state() == before  # the delete and the inserts of the failed version were rolled back


def _unreadable_entries(raw_dir: Path) -> dict[str, str]:
    """Faults that hit root too (chmod 000 does not stop root): a directory, a FIFO and a dangling
    symlink, each named like a raw file of the source."""
    (raw_dir / "orders_dir.csv").mkdir()
    os.mkfifo(raw_dir / "orders_fifo.csv")
    (raw_dir / "orders_gone.csv").symlink_to(raw_dir / "nowhere.csv")
    return {
        "orders_dir.csv": "is a directory, not a file",
        "orders_fifo.csv": "is not a regular file",
        "orders_gone.csv": "is a symlink to a missing file",
    }


def test_unreadable_raw_files_are_one_line_each_and_the_others_still_load(tiny_lab: Path, tmp_path: Path) -> None:
    lab = Lab.from_dir(tiny_lab)
    expected = _unreadable_entries(lab.paths.raw_dir)
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    plan = _load_all(lab, con)
    assert [f.rel for f in plan.pending] == ["orders_1.csv"]
    assert sorted(u.rel for u in plan.unreadable) == sorted(expected)
    for problem in plan.unreadable:
        assert problem.line.startswith(f"data/raw/{problem.rel}: ") and expected[problem.rel] in problem.line
        assert "\n" not in problem.line
    assert con.execute("select count(*) from raw.orders").fetchone() == (2,)


def test_an_io_error_while_hashing_is_one_line(tiny_lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # EACCES/EIO cannot be produced for root on a local disk; inject the OSError the read would raise.
    (tiny_lab / "data" / "raw" / "orders_2.csv").write_text("order_id,order_date,amount\nB1,2026-01-01,1\n")
    real = check_module.file_sha256

    def failing(path: Path, chunk: int = 1 << 20) -> str:
        if path.name == "orders_2.csv":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, chunk)

    monkeypatch.setattr(check_module, "file_sha256", failing)
    lab = Lab.from_dir(tiny_lab)
    plan = _load_all(lab, duckdb.connect(str(tmp_path / "t.duckdb")))
    assert [f.rel for f in plan.pending] == ["orders_1.csv"]
    assert [u.line for u in plan.unreadable] == ["data/raw/orders_2.csv: cannot be read: Permission denied"]


def test_a_file_that_became_unreadable_before_load_is_one_line(tiny_lab: Path, tmp_path: Path) -> None:
    lab = Lab.from_dir(tiny_lab)
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    ledger.ensure_ledger(con)
    ensure_tables(con, "orders", lab.config.sources["orders"])
    (raw,) = scan(lab.paths.raw_dir, lab.config, {}).pending
    raw.path.unlink()
    raw.path.mkdir()  # replaced by a directory between Check and Load
    with pytest.raises(LoadError) as info:
        load_file(con, raw, lab.config.sources["orders"], "r")
    assert str(info.value).startswith("data/raw/orders_1.csv: cannot be read: ")
    assert "\n" not in str(info.value)


def test_run_and_check_report_unreadable_files_and_load_the_rest(tiny_lab: Path) -> None:
    from buildcpg_shared.testing import run_cli, run_lab_dir

    _unreadable_entries(tiny_lab / "data" / "raw")
    checked = run_cli(tiny_lab.parents[1], "check")
    assert checked.returncode == 2, checked.stdout + checked.stderr
    assert "data/raw/orders_dir.csv: is a directory, not a file" in checked.stderr
    assert "Traceback" not in checked.stderr
    assert "new      data/raw/orders_1.csv" in checked.stdout
    lab, report = run_lab_dir(tiny_lab, steps=["check", "load"], echo=False)
    steps = {s.name: s for s in report.steps}
    assert steps["check"].status == "failed" and "orders_dir.csv: is a directory" in steps["check"].detail
    assert steps["load"].status != "failed"
    with duckdb.connect(str(lab.paths.database()), read_only=True) as con:
        assert con.execute("select count(*) from raw.orders").fetchone() == (2,)


def test_full_refresh_loads_files_again_in_the_order_they_arrived(tiny_lab: Path, tmp_path: Path) -> None:
    """A re-sent file loaded after a later one stays after it in a --full-refresh (newest copy wins)."""
    lab = Lab.from_dir(tiny_lab)
    raw_dir = lab.paths.raw_dir
    first = (raw_dir / "orders_1.csv").read_text()
    (raw_dir / "orders_2.csv").write_text(first)
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    _load_all(lab, con)  # orders_1 then orders_2, by name
    (raw_dir / "orders_1.csv").write_text(first + "A9,2026-01-09,1.00\n")  # re-sent: it arrives last
    assert [f.rel for f in _load_all(lab, con).pending] == ["orders_1.csv"]
    (raw_dir / "orders_0.csv").write_text(first)  # new since the last load

    assert ledger.arrival_order(con) == {}  # no --full-refresh under way
    foreseen = ledger.arrival_order(con, before_reset=True)  # what `run --dry-run --full-refresh` shows
    reset_for_full_refresh(con)
    assert ledger.arrival_order(con) == foreseen
    plan = scan(raw_dir, lab.config, ledger.read_ledger(con))
    assert [f.rel for f in plan.pending] == ["orders_0.csv", "orders_1.csv", "orders_2.csv"]  # by name alone
    plan.arrival = ledger.arrival_order(con)
    assert [f.rel for f in plan.pending] == ["orders_2.csv", "orders_1.csv", "orders_0.csv"]
    reset_for_full_refresh(con)  # a second reset before the files were loaded keeps the saved order
    assert ledger.arrival_order(con) == plan.arrival
    ledger.forget_arrival_order(con)
    assert ledger.arrival_order(con) == {}
