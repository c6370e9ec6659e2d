"""File-system faults give one line naming the path and the problem, never a traceback (issue 9).

Faults that stop root too (tests may run as root, where chmod stops nothing): a file where a folder
must be, a folder where the database file must be, garbage bytes in the database file. Real
processes: the lab runner (`buildcpg-lab run`, steps without dbt) and the platform readers.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.errors import is_damage
from buildcpg_shared.testing import cli_env, run_cli

LAB = "lab9_tiny"
NO_DBT = "check,load,inspect,publish"  # the tiny lab has no dbt project


def _run_lab(lab_dir: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "buildcpg_shared.cli.lab", "--lab-dir", str(lab_dir), "run"]
    return subprocess.run(
        [*command, "--steps", NO_DBT], env=cli_env(), capture_output=True, text=True, timeout=120, check=False
    )


def _one_line_error(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    text = result.stdout + result.stderr
    assert result.returncode == code, text
    assert "Traceback" not in text and "internal error" not in text, text
    for needle in needles:
        assert needle in text, f"{needle!r} not in: {text}"


def _fault(lab: Path, kind: str) -> str:
    """Make the fault; return the path the message must name."""
    database = lab / "data" / f"{LAB}.duckdb"
    if kind == "data folder is a file":
        shutil.rmtree(lab / "data")
        (lab / "data").write_text("not a folder\n")
        return str(lab / "data")
    if kind == "database is a folder":
        database.mkdir()
        return str(database)
    database.write_bytes(b"this is no DuckDB file\n" * 500)
    return str(database)


@pytest.mark.parametrize("kind", ["data folder is a file", "database is a folder", "database is garbage"])
def test_a_database_that_cannot_be_opened_is_one_line(tiny_lab: Path, kind: str) -> None:
    where = _fault(tiny_lab, kind)
    run = _run_lab(tiny_lab)
    _one_line_error(run, 1, where)
    root = tiny_lab.parents[1]
    for command in (["inspect", LAB], ["quality", LAB], ["check", LAB]):
        _one_line_error(run_cli(root, *command), 2, where)
    dry = run_cli(root, "run", LAB, "--dry-run", "--no-sync")
    _one_line_error(dry, 0)
    report = run_cli(root, "report", "--out", str(root / "report.html"))
    _one_line_error(report, 0)
    assert where in (root / "report.html").read_text()


def test_a_file_where_the_serving_folder_must_be_is_one_line_and_data_stays(tiny_lab: Path) -> None:
    (tiny_lab / "data" / "serving").write_text("not a folder\n")
    run = _run_lab(tiny_lab)
    _one_line_error(run, 1, str(tiny_lab / "data" / "serving"), "serving copy")
    with duckdb.connect(str(tiny_lab / "data" / f"{LAB}.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from raw.orders").fetchone() == (2,)  # loaded, kept
    (tiny_lab / "data" / "serving").unlink()
    _one_line_error(_run_lab(tiny_lab), 0)  # the next run recovers and publishes
    assert (tiny_lab / "data" / "serving" / f"{LAB}.duckdb").is_file()


def test_report_to_an_unwritable_place_is_one_line(tiny_lab: Path) -> None:
    root = tiny_lab.parents[1]
    (root / "blocker").write_text("a file, not a folder\n")
    report = run_cli(root, "report", "--out", str(root / "blocker" / "report.html"))
    _one_line_error(report, 2, str(root / "blocker"))


HOLD_DUCKDB = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])  # a writer that knows nothing of the lab lock (a BI tool, an IDE)
print("held", flush=True)
sys.stdin.readline()
"""


def test_a_lock_is_no_damage_and_check_names_a_damaged_database(tiny_lab: Path) -> None:
    assert _run_lab(tiny_lab).returncode == 0
    root, database = tiny_lab.parents[1], tiny_lab / "data" / f"{LAB}.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_DUCKDB, str(database)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(duckdb.Error) as locked:
            duckdb.connect(str(database), read_only=True)
        assert "lock" in str(locked.value) and not is_damage(locked.value)
        inspect = run_cli(root, "inspect", LAB)
        assert inspect.returncode == 0 and "is damaged" not in inspect.stdout + inspect.stderr  # the serving copy
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    with open(database, "r+b") as handle:
        handle.truncate(database.stat().st_size // 10)  # its catalog is gone
    with pytest.raises(duckdb.Error) as broken:
        duckdb.connect(str(database), read_only=True)
    assert is_damage(broken.value)
    damaged = f"labs/{LAB}/data/{LAB}.duckdb is damaged ("
    check = run_cli(root, "check", LAB)
    _one_line_error(check, 2, damaged, f"run `buildcpg run {LAB} --rebuild`")
    dry = run_cli(root, "run", LAB, "--dry-run", "--no-sync", COLUMNS="400")  # wide: the plan's cells stay whole
    _one_line_error(dry, 0, f"unknown (labs/{LAB}/data/{LAB}.duckdb is damaged: run with --rebuild)")
