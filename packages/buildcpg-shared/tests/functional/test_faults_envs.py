"""Environment faults of issue 22, end to end on copies of this workspace (real uv, real dbt, real make).

A stray folder under labs/ (a lab.yaml, no pyproject.toml) and a lab whose lab.yaml is not valid YAML
each fail alone, in one line; every other lab runs, and no command shows a traceback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.testing import cli_env, copy_workspace, keep_only_labs, run_cli
from conftest import LAB1, WORKSPACE_ROOT

STRAY = "lab7_stray"
BROKEN = "lab2_forecast_model"  # a real member: its lab.yaml is replaced by invalid YAML
STRAY_LINE = f"labs/{STRAY}: no pyproject.toml: not a uv workspace member; give it one"
BROKEN_LINE = "lab.yaml: line 2: not valid YAML"


def _make(root: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``make ARGS`` as a user types it, with no uv on PATH (make finds it through $UV, as after its bootstrap)."""
    env = cli_env()
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not (Path(p) / "uv").exists())
    return subprocess.run(
        ["make", *args], cwd=cwd or root, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def _copy(dest: Path) -> Path:
    """A workspace copy with lab 1 only (and the root Makefile: `make run` is what a user types)."""
    root = copy_workspace(WORKSPACE_ROOT, dest)
    shutil.copy2(WORKSPACE_ROOT / "Makefile", root / "Makefile")
    keep_only_labs(root, [LAB1])
    return root


def _sales_rows(root: Path) -> int:
    with duckdb.connect(str(root / "labs" / LAB1 / "data" / f"{LAB1}.duckdb"), read_only=True) as con:
        return int(con.execute("select count(*) from raw.sales").fetchall()[0][0])


def _add_faults(root: Path) -> None:
    stray = root / "labs" / STRAY
    (stray / "data" / "raw").mkdir(parents=True)
    (stray / "lab.yaml").write_text(f"name: {STRAY}\ntitle: Copied lab.yaml only\n")
    (root / "labs" / BROKEN / "lab.yaml").write_text(f"name: [{BROKEN}\n  : : oops\n")


@pytest.fixture(scope="module")
def faulty_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace copy with lab 1, a stray folder and a lab whose lab.yaml is invalid YAML."""
    root = _copy(tmp_path_factory.mktemp("faulty") / "ws")
    _add_faults(root)
    return root


def _no_traceback(result: subprocess.CompletedProcess[str], what: str) -> str:
    out = result.stdout + result.stderr
    assert "Traceback" not in out and "FileNotFoundError" not in out, f"{what}:\n{out}"
    return out


def test_make_run_with_a_stray_lab_folder_runs_the_other_labs(tmp_path: Path) -> None:
    root = _copy(tmp_path / "ws")
    first = _make(root, "run")
    assert first.returncode == 0, first.stdout + first.stderr
    rows = _sales_rows(root)

    _add_faults(root)
    # uv still takes the workspace: labs are listed members, not a labs/* glob
    lock = subprocess.run([cli_env()["UV"], "lock", "--check"], cwd=root, capture_output=True, text=True, check=False)
    assert lock.returncode == 0, lock.stderr
    broken = _make(root, "run")
    out = _no_traceback(broken, "make run")
    assert broken.returncode != 0, out  # make passes on buildcpg's exit code 1
    assert "make: *** [Makefile" in broken.stderr and "Error 1" in broken.stderr, broken.stderr
    assert f"✗ {STRAY}: {STRAY_LINE}" in " ".join(broken.stdout.split()), broken.stdout
    assert BROKEN_LINE in out
    assert "1 of 3 lab(s) passed" in broken.stdout, broken.stdout
    assert _sales_rows(root) == rows  # lab 1 ran again and lost nothing

    (root / "labs" / BROKEN / "lab.yaml").unlink()
    (root / "labs" / STRAY / "lab.yaml").unlink()
    recovered = _make(root, "run")
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "1 of 1 lab(s) passed" in recovered.stdout


def test_run_all_no_sync_names_the_stray_folder(faulty_ws: Path) -> None:
    result = run_cli(faulty_ws, "run", "--all", "--no-sync")
    out = _no_traceback(result, "run --all --no-sync")
    assert result.returncode == 1, out
    assert STRAY_LINE in " ".join(out.split())


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (["labs", "--format", "json"], 0),  # a table wraps its cells: the JSON holds the whole line
        (["sync"], 1),
        (["doctor"], 2),
        (["status", "--format", "json"], 1),
        (["report"], 0),
        (["check"], 2),
        (["schedule"], 1),
        (["run", "--all", "--dry-run"], 0),
        (["runs"], 0),
        (["quality", STRAY], 2),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else str(v),
)
def test_every_command_over_the_labs_shows_the_broken_ones_in_one_line(
    faulty_ws: Path, command: list[str], code: int
) -> None:
    result = run_cli(faulty_ws, *command)
    out = _no_traceback(result, " ".join(command))
    assert result.returncode == code, out
    flat = " ".join(out.split())
    if command[0] in ("labs", "sync", "doctor", "status"):
        assert STRAY_LINE in flat, flat
    if command[0] in ("labs", "status", "check", "schedule"):
        assert BROKEN_LINE in flat, flat
    if command[0] == "sync":
        assert "2 of 3 lab venv(s) synced; failed: lab7_stray" in flat  # lab 1 and the broken-yaml lab 2 synced
    if command[0] == "doctor":
        assert "doctor found" in result.stderr and LAB1 in result.stdout
