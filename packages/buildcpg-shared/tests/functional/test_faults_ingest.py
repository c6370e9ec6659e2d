"""Fault tests of ingestion (issue 22): lab 1 copied into a workspace under tmp_path, its Check and Load
run by the real lab runner process (``buildcpg-lab run --steps check,load``) and ``buildcpg check``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
from buildcpg_shared.testing import cli_env, copy_lab, copy_workspace, keep_only_labs, run_cli
from conftest import LAB1, WORKSPACE_ROOT

SAMPLE = WORKSPACE_ROOT / "labs" / LAB1 / "data" / "raw" / "sales_2026_01.csv"
HUGE = 50_000_000  # characters of one field: beyond DuckDB's reader buffer, which dropped the row unreported


def _workspace(tmp_path: Path) -> Path:
    """A workspace holding a copy of lab 1 with its tracked sample data; returns the lab folder."""
    root = tmp_path / "ws"
    (root / "labs").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = ["labs/*"]\n')
    return copy_lab(WORKSPACE_ROOT / "labs" / LAB1, root / "labs")


def _run(lab: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "buildcpg_shared.cli.lab", "--lab-dir", str(lab), "run", "--steps", "check,load"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=cli_env(), check=False)


def _rows_by_file(lab: Path) -> dict[str, int]:
    with duckdb.connect(str(lab / "data" / f"{LAB1}.duckdb"), read_only=True) as con:
        rows = con.execute("select _source_file, count(*) from raw.sales group by 1").fetchall()
    return dict(rows)


def _write_sales_with_a_huge_field(path: Path, sku_length: int) -> None:
    """Header + 200 data rows of the sample; data row 101 (line 102) gets a ``sku`` of ``sku_length``
    characters, written in pieces so the test never holds it in memory."""
    with SAMPLE.open() as sample:
        lines = [next(sample) for _ in range(201)]
    with path.open("w") as out:
        out.writelines(lines[:101])
        cells = lines[101].split(",")
        out.write(",".join(cells[:3]) + ",")
        piece = "X" * 1_000_000
        for _ in range(sku_length // len(piece)):
            out.write(piece)
        out.write("X" * (sku_length % len(piece)) + "," + ",".join(cells[4:]))
        out.writelines(lines[102:])


def test_a_50mb_field_is_quarantined_not_lost(tmp_path: Path) -> None:
    lab = _workspace(tmp_path)
    first = _run(lab)
    assert first.returncode == 0, first.stdout + first.stderr
    before = _rows_by_file(lab)
    drop = lab / "data" / "raw" / "sales_2026_07.csv"
    _write_sales_with_a_huge_field(drop, HUGE)
    size = drop.stat().st_size

    run = _run(lab)
    assert run.returncode == 0, run.stdout + run.stderr
    assert (
        "load      warn    data/raw/sales_2026_07.csv: 1 row(s) quarantined in quarantine.sales; first: "
        "line 102: Maximum line size of 2000000 bytes exceeded. Actual Size:50000042 bytes."
    ) in run.stdout
    with duckdb.connect(str(lab / "data" / f"{LAB1}.duckdb"), read_only=True) as con:
        quarantined = con.execute(
            "select distinct line, error_type from quarantine.sales where file = 'sales_2026_07.csv'"
        ).fetchall()
        entry = con.execute("select rows, rejected from _buildcpg.ledger where file = 'sales_2026_07.csv'").fetchone()
    assert quarantined == [(102, "LINE SIZE OVER MAXIMUM")]
    assert entry == (199, 1)  # 199 in raw + 1 in quarantine = the file's 200 data rows
    assert _rows_by_file(lab) == {**before, "sales_2026_07.csv": 199}  # no earlier row lost
    assert drop.stat().st_size == size  # the raw file is never touched

    _write_sales_with_a_huge_field(drop, 8)  # the sender fixes the row: the next run takes all 200
    again = _run(lab)
    assert again.returncode == 0, again.stdout + again.stderr
    assert _rows_by_file(lab) == {**before, "sales_2026_07.csv": 200}


def _files_mentioning(root: Path, text: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and text in p.read_bytes()]


def test_a_symlink_out_of_data_raw_is_refused_unread_and_the_rest_loads(lab1_workspace: Path, tmp_path: Path) -> None:
    """Through ``buildcpg run`` (lab 1's synced venv), so the history, the run log and last_run.json
    are all written, and none of them may hold a byte of the link's target."""
    root = copy_workspace(WORKSPACE_ROOT, tmp_path / "ws")
    keep_only_labs(root, [LAB1])
    lab = root / "labs" / LAB1
    (lab / ".venv").symlink_to(lab1_workspace / "labs" / LAB1 / ".venv", target_is_directory=True)
    secret = b"s3cret-first-line-of-a-file-outside"
    outside = tmp_path / "outside.csv"
    outside.write_bytes(secret + b"\n" + SAMPLE.read_bytes().split(b"\n", 1)[1])
    raw_dir = lab / "data" / "raw"
    (raw_dir / "sales_2026_07.csv").symlink_to(outside)
    (raw_dir / "sales_2026_08.csv").symlink_to(raw_dir / "sales_2026_01.csv")  # inside data/raw: loads
    refused = "data/raw/sales_2026_07.csv is a symlink to a file outside data/raw: not loaded"

    checked = run_cli(root, "check")
    assert checked.returncode == 2, checked.stdout + checked.stderr
    assert f"{LAB1}: error: {refused}" in checked.stderr.splitlines()
    assert "sales_2026_07.csv" not in checked.stdout

    run = run_cli(root, "run", LAB1, "--steps", "check,load")
    assert run.returncode == 1, run.stdout + run.stderr
    assert refused in run.stdout + run.stderr
    logs = list((root / ".buildcpg" / "logs" / LAB1).glob("*.log"))
    assert logs and refused in logs[0].read_text()
    rows = _rows_by_file(lab)
    assert "sales_2026_07.csv" not in rows and rows["sales_2026_08.csv"] == rows["sales_2026_01.csv"]
    assert set(rows) == {f"sales_2026_0{m}.csv" for m in (1, 2, 3, 4, 5, 6, 8)}
    runs = run_cli(root, "runs", LAB1)
    assert runs.returncode == 0, runs.stdout + runs.stderr
    shown = (checked.stdout + checked.stderr + run.stdout + run.stderr + runs.stdout + runs.stderr).encode()
    assert secret not in shown
    written = [root / ".buildcpg", lab / "data"]
    assert [p for folder in written for p in _files_mentioning(folder, secret)] == []  # history, log, database

    (raw_dir / "sales_2026_07.csv").unlink()  # the user removes the stray link: the next run is clean
    again = run_cli(root, "run", LAB1, "--steps", "check,load")
    assert again.returncode == 0, again.stdout + again.stderr
    assert _rows_by_file(lab) == rows


def _without_units(lines: list[str]) -> str:
    """The sample's rows with the ``units`` column (the fifth) left out: a header that breaks the contract."""
    return "".join(",".join(c for i, c in enumerate(line.split(",")) if i != 4) for line in lines)


def test_check_refuses_a_header_that_load_would_refuse_with_the_same_line(tmp_path: Path) -> None:
    lab = _workspace(tmp_path)
    root = lab.parents[1]
    first = _run(lab)
    assert first.returncode == 0, first.stdout + first.stderr
    before = _rows_by_file(lab)
    drop = lab / "data" / "raw" / "sales_2026_07.csv"
    sample = SAMPLE.read_text().splitlines(keepends=True)[:51]
    drop.write_text(_without_units(sample))
    line = (
        "data/raw/sales_2026_07.csv: header does not match the contract of source 'sales': missing units. "
        "File not loaded; fix the file or lab.yaml"
    )

    checked = run_cli(root, "check")
    assert checked.returncode == 2, checked.stdout + checked.stderr
    assert f"{LAB1}: error: {line}" in checked.stderr.splitlines()
    assert "sales_2026_07.csv" not in checked.stdout  # not listed as new
    assert f"{LAB1}: 0 new, 0 changed, 9 unchanged, 0 removed, 0 still being written, 1 refused" in checked.stdout

    run = _run(lab)
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"[{LAB1}] check     error   {line}" in run.stdout.splitlines()
    assert f"[{LAB1}] load      error   {line}" in run.stdout.splitlines()
    steps = {s["name"]: s for s in json.loads((lab / "data" / "last_run.json").read_text())["steps"]}
    assert steps["check"]["status"] == "failed" and line in steps["check"]["detail"]
    assert steps["load"]["status"] == "failed" and line in steps["load"]["detail"]
    assert _rows_by_file(lab) == before  # nothing of the file, no earlier row lost

    drop.write_text("".join(sample))  # the sender fixes the header: check lists it, the next run loads it
    assert "  new      data/raw/sales_2026_07.csv  (sales)" in run_cli(root, "check").stdout.splitlines()
    again = _run(lab)
    assert again.returncode == 0, again.stdout + again.stderr
    assert _rows_by_file(lab) == {**before, "sales_2026_07.csv": 50}
