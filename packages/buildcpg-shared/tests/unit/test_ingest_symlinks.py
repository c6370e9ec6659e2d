"""Raw inputs resolve inside data/raw: a symlink leading out is refused unread (Check, monitor, Load)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.errors import LoadError
from buildcpg_shared.ingest import check as check_module
from buildcpg_shared.ingest.check import RawFile, escape_problem, scan
from buildcpg_shared.ingest.load import load_file
from buildcpg_shared.ingest.monitor import CSVMonitor
from buildcpg_shared.registry import Lab
from conftest import plan_load

SECRET = "secret-first-line,never,shown\n"


def _outside(tmp_path: Path) -> Path:
    target = tmp_path / "elsewhere" / "orders_x.csv"
    target.parent.mkdir()
    target.write_text(SECRET + "Z1,2026-01-01,1.00\n")
    return target


def test_monitor_refuses_a_symlink_out_of_data_raw_without_reading_it(
    tiny_lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = Lab.from_dir(tiny_lab)
    raw_dir = lab.paths.raw_dir
    (raw_dir / "orders_link.csv").symlink_to(_outside(tmp_path))
    (raw_dir / "orders_same.csv").symlink_to(raw_dir / "orders_1.csv")  # stays inside: loads
    real_hash = check_module.file_sha256

    def hash_inside_only(path: Path, chunk: int = 1 << 20) -> str:
        assert "elsewhere" not in str(path.resolve()), f"{path} was read"
        return real_hash(path, chunk)

    monkeypatch.setattr(check_module, "file_sha256", hash_inside_only)
    held: list[str] = []
    monitor = CSVMonitor(raw_dir, lab.config, interval=0)

    def hold(files: list[RawFile]) -> set[str]:
        held.extend(f.rel for f in files)
        return monitor.unsettled(files)

    plan = scan(raw_dir, lab.config, {}, hold=hold)
    assert sorted(f.rel for f in plan.pending) == ["orders_1.csv", "orders_same.csv"]
    assert sorted(held) == ["orders_1.csv", "orders_same.csv"]  # the monitor never stats a link out
    assert [u.line for u in plan.unreadable] == [
        "data/raw/orders_link.csv is a symlink to a file outside data/raw: not loaded"
    ]
    assert plan.removed == []
    assert [u.rel for u in monitor.check({}).unreadable] == ["orders_link.csv"]


def test_a_folder_linked_out_of_data_raw_is_refused_and_one_linked_inside_is_not(tmp_path: Path) -> None:
    raw_dir = tmp_path / "lab" / "data" / "raw"
    (raw_dir / "in").mkdir(parents=True)
    (raw_dir / "in" / "a.csv").write_text("x\n")
    (raw_dir / "out").symlink_to(_outside(tmp_path).parent, target_is_directory=True)
    (raw_dir / "again").symlink_to(raw_dir / "in", target_is_directory=True)
    assert escape_problem(raw_dir / "out" / "orders_x.csv", "out/orders_x.csv") == (
        "data/raw/out/orders_x.csv is in data/raw/out, a symlink to a folder outside data/raw: not loaded"
    )
    assert escape_problem(raw_dir / "again" / "a.csv", "again/a.csv") == ""
    assert escape_problem(raw_dir / "in" / "a.csv", "in/a.csv") == ""


def test_load_refuses_a_symlink_put_in_place_after_check(tiny_lab: Path, tmp_path: Path) -> None:
    lab = Lab.from_dir(tiny_lab)
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    (raw,) = plan_load(lab, con).pending
    raw.path.unlink()
    raw.path.symlink_to(_outside(tmp_path))
    with pytest.raises(LoadError) as info:
        load_file(con, raw, lab.config.sources["orders"], "r1")
    assert str(info.value) == "data/raw/orders_1.csv is a symlink to a file outside data/raw: not loaded"
    assert con.execute("select count(*) from raw.orders").fetchone() == (0,)
