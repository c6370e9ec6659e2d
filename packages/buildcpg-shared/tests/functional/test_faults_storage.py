"""Storage faults (issue 22): a damaged lab database, a write that fails (a full disk), the serving copy.

Real processes on real files. A damaged database: lab 1's database (real dbt) truncated to half.
A full disk: the lab runner runs in a child process with ``RLIMIT_FSIZE`` (SIGXFSZ ignored), so
every write past the limit fails with EFBIG ("File too large"), the way a full disk fails with
ENOSPC; this works on macOS and Linux without root.
"""

from __future__ import annotations

import json
import re
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.testing import cli_env, copy_workspace, keep_only_labs, run_cli

LAB1 = "lab1_sales_performance"
TINY = "lab9_tiny"
NO_DBT = "check,load,inspect,publish"  # the tiny lab has no dbt project
EFBIG = "File too large"  # what a write past RLIMIT_FSIZE says (a full disk says "No space left on device")


def _limited(max_bytes: int) -> Callable[[], None]:
    """preexec_fn: writes past ``max_bytes`` fail with EFBIG in the child (instead of killing it)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return apply


def _run_tiny(lab_dir: Path, *, limit: int | None = None, steps: str = NO_DBT) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "buildcpg_shared.cli.lab", "--lab-dir", str(lab_dir), "run", "--steps", steps]
    return subprocess.run(
        command,
        env=cli_env(),
        capture_output=True,  # pipes: the limit applies to files only
        text=True,
        timeout=120,
        check=False,
        preexec_fn=_limited(limit) if limit else None,
    )


def _no_traceback(result: subprocess.CompletedProcess[str]) -> str:
    text = result.stdout + result.stderr
    assert "Traceback" not in text and "internal error" not in text, text
    return text


def _temporaries(lab_dir: Path) -> list[Path]:
    return [p for p in lab_dir.rglob("*") if p.name.endswith((".tmp", ".tmp.wal"))]


def _tables(database: Path) -> dict[str, int]:
    """Every table of a database file with its row count (read-only)."""
    with duckdb.connect(str(database), read_only=True) as con:
        names = con.execute("select schema_name, table_name from duckdb_tables() order by 1, 2").fetchall()
        return {f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in names}


def _serving_version(lab_dir: Path) -> int:
    with duckdb.connect(str(lab_dir / "data" / "serving" / f"{lab_dir.name}.duckdb"), read_only=True) as con:
        return int(con.execute("select version from _buildcpg_version").fetchone()[0])


# -- a damaged lab database ---------------------------------------------------------------------


@pytest.fixture
def two_lab_workspace(lab1_workspace: Path, tiny_lab: Path, tmp_path: Path) -> Path:
    """A private workspace copy: lab 1 (run once, synced) and the tiny lab (run once)."""
    root = copy_workspace(lab1_workspace, tmp_path / "ws2")
    keep_only_labs(root, [LAB1])
    synced = run_cli(root, "sync", LAB1)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    first = run_cli(root, "run", LAB1, "--no-sync")
    assert first.returncode == 0, first.stdout + first.stderr
    shutil.copytree(tiny_lab, root / "labs" / TINY)  # after the sync: it is no member of uv.lock (runs use --no-sync)
    assert _run_tiny(root / "labs" / TINY).returncode == 0
    return root


def test_a_damaged_database_is_one_line_everywhere_and_rebuild_recovers(two_lab_workspace: Path) -> None:
    root = two_lab_workspace
    lab_dir = root / "labs" / LAB1
    database = lab_dir / "data" / f"{LAB1}.duckdb"
    serving = lab_dir / "data" / "serving" / f"{LAB1}.duckdb"
    raw_before = {k: v for k, v in _tables(database).items() if k.startswith("raw.")}
    served_before, version_before = _tables(serving), _serving_version(lab_dir)
    with open(database, "r+b") as handle:  # half the file is gone
        handle.truncate(database.stat().st_size // 2)
    damaged_size = database.stat().st_size
    line = f"labs/{LAB1}/data/{LAB1}.duckdb is damaged ("
    way_out = f"): run `buildcpg run {LAB1} --rebuild` to move it aside and rebuild from data/raw"

    for extra in ([], ["--full-refresh"]):  # a full refresh cannot open it either
        run = run_cli(root, "run", LAB1, "--no-sync", *extra)
        text = " ".join(_no_traceback(run).split())  # the summary table wraps long lines at the terminal width
        assert run.returncode == 1 and line in text and way_out in text, text
    for command in (["inspect", LAB1], ["quality", LAB1]):
        read = run_cli(root, *command)
        assert read.returncode == 2 and _no_traceback(read).strip().splitlines() == [
            next(s for s in read.stderr.splitlines() if line in s and way_out in s)
        ], read.stdout + read.stderr
    report = run_cli(root, "report", "--out", str(root / "report.html"))
    assert report.returncode == 0, _no_traceback(report)
    html = (root / "report.html").read_text()
    assert line in html and TINY in html  # the damaged lab says why; the other lab still renders
    for log in (root / ".buildcpg" / "logs").rglob("*.log"):
        assert "Traceback" not in log.read_text(), log
    assert _tables(serving) == served_before  # BI still reads the last good copy

    rebuild = run_cli(root, "run", LAB1, "--no-sync", "--rebuild")
    assert rebuild.returncode == 0, _no_traceback(rebuild)
    moved = list((lab_dir / "data" / "damaged").iterdir())
    assert [p.stat().st_size for p in moved] == [damaged_size]  # moved aside, never deleted
    assert re.fullmatch(rf"{LAB1}\.\d{{8}}T\d{{6}}Z\.duckdb", moved[0].name), moved
    assert {k: v for k, v in _tables(database).items() if k.startswith("raw.")} == raw_before  # every row back
    assert _tables(serving) == served_before  # the same gold, published again
    assert _serving_version(lab_dir) == version_before + 1  # the version goes on, never back
    assert run_cli(root, "quality", LAB1).returncode == 0
    assert run_cli(root, "run", LAB1, "--no-sync").returncode == 0  # and the next plain run is fine


HOLD_LAB_LOCK = """
import sys
from pathlib import Path
from buildcpg_shared.lab_lock import LabLock
with LabLock(Path(sys.argv[1]), sys.argv[2]):
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_the_serving_copy_holds_gold_and_one_version_table(two_lab_workspace: Path) -> None:
    root = two_lab_workspace
    lab_dir = root / "labs" / LAB1
    served = _tables(lab_dir / "data" / "serving" / f"{LAB1}.duckdb")
    assert [t for t in served if not t.startswith("gold.")] == ["main._buildcpg_version"], served
    with duckdb.connect(str(lab_dir / "data" / f"{LAB1}.duckdb"), read_only=True) as con:
        rows = con.execute("select table_name from information_schema.tables where table_schema = 'gold'")
        assert {t for t in served if t.startswith("gold.")} == {f"gold.{t}" for (t,) in rows.fetchall()}
    # while a run holds the lab, readers still get the quality and tables of the last publish
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LAB_LOCK, str(lab_dir / "data" / ".buildcpg.lock"), LAB1],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        quality = run_cli(root, "quality", LAB1, "--format", "json")
        assert quality.returncode == 0 and json.loads(quality.stdout)["source"] == "serving", quality.stderr
        assert json.loads(quality.stdout)["latest"]["lab"]["score"] > 0
        inspect = run_cli(root, "inspect", LAB1, "--format", "json")
        assert inspect.returncode == 0, inspect.stderr
        assert {t["schema"] for t in json.loads(inspect.stdout)["tables"]} == {"gold", "_buildcpg"}
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)


# -- a write that fails (a full disk) -------------------------------------------------------------


def test_a_publish_that_cannot_write_fails_the_run_and_leaves_no_temporary(tiny_lab: Path) -> None:
    assert _run_tiny(tiny_lab).returncode == 0
    serving = tiny_lab / "data" / "serving" / f"{TINY}.duckdb"
    before = _tables(serving)
    (tiny_lab / "data" / "raw" / "orders_2.csv").write_text("order_id,order_date,amount\nB1,2026-03-01,1.00\n")
    run = _run_tiny(tiny_lab, limit=100_000)  # the lab database's small writes fit, the new serving copy not
    text = _no_traceback(run)
    target = tiny_lab / "data" / ".publish" / f"{TINY}.duckdb.tmp"
    assert run.returncode == 1 and f"could not write {target}: {EFBIG}" in text, text
    assert "FAILED" in run.stdout
    assert _temporaries(tiny_lab) == []
    assert sorted(p.name for p in serving.parent.iterdir()) == [serving.name]  # BI's folder: the copy only
    assert _tables(serving) == before and _serving_version(tiny_lab) == 1  # the last good copy stays
    again = _run_tiny(tiny_lab)  # no limit: the next run publishes
    assert again.returncode == 0, again.stdout
    assert _serving_version(tiny_lab) == 2
    with duckdb.connect(str(tiny_lab / "data" / f"{TINY}.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from raw.orders").fetchone() == (3,)  # no row lost


def test_a_load_that_cannot_write_is_one_line_and_keeps_the_earlier_rows(tiny_lab: Path) -> None:
    assert _run_tiny(tiny_lab).returncode == 0
    rows = "\n".join(f"B{i},2026-01-{1 + i % 28:02d},{i % 1000}.25" for i in range(200_000))
    (tiny_lab / "data" / "raw" / "orders_2.csv").write_text(f"order_id,order_date,amount\n{rows}\n")
    run = _run_tiny(tiny_lab, limit=64 * 1024)
    text = _no_traceback(run)
    database = tiny_lab / "data" / f"{TINY}.duckdb"
    assert run.returncode == 1 and f"could not write {database}: {EFBIG}" in text, text
    assert _temporaries(tiny_lab) == []
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("select count(*) from raw.orders").fetchone() == (2,)  # the earlier rows
    assert _run_tiny(tiny_lab).returncode == 0
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("select count(*) from raw.orders").fetchone() == (200_002,)


def test_a_run_record_that_cannot_be_written_fails_the_run(tiny_lab: Path) -> None:
    assert _run_tiny(tiny_lab).returncode == 0
    record = tiny_lab / "data" / "last_run.json"
    before = record.read_text()
    run = _run_tiny(tiny_lab, limit=1024)  # nothing new to write but the run record (over 1 KB)
    text = _no_traceback(run)
    assert run.returncode == 1, text
    assert f"[{TINY}] FAILED in " in run.stdout and f"could not write {record}: {EFBIG}" in run.stdout, text
    assert record.read_text() == before  # the previous record is whole
    assert list(record.parent.glob(".last_run.json.*")) == []  # its temporary is gone
    assert _run_tiny(tiny_lab).returncode == 0
    assert json.loads(record.read_text())["status"] == "ok"  # the next run records itself again


def test_the_lab_lock_error_names_its_file(tiny_lab: Path) -> None:
    run = _run_tiny(tiny_lab, limit=64, steps="check")  # the lock's holder record (over 64 bytes) fails
    text = _no_traceback(run)
    holder = tiny_lab / "data" / ".buildcpg.holder"
    assert run.returncode == 1 and f"cannot take the lab lock: {holder}: {EFBIG}" in text, text
    assert not holder.exists()
    assert _run_tiny(tiny_lab, steps="check").returncode == 0
