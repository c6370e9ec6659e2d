"""The platform CLI against a real copy of this workspace: real uv venvs, real dbt, real DuckDB.

The copy holds pyproject.toml, uv.lock, packages/ and labs/ (without venvs or databases); each
test syncs lab venvs there with the real uv (from the warm cache) and runs real labs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.testing import clean_env, copy_workspace, run_cli

LAB = "lab1_sales_performance"


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    assert Path(found).exists(), "uv must be installed in the test env (root dev group)"
    return found


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the workspace with lab 1's venv synced (once per module)."""
    root = copy_workspace(Path(__file__).resolve().parents[3], tmp_path_factory.mktemp("ws") / "buildcpg-labs")
    result = _cli(root, "sync", LAB)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def _env(**extra: str) -> dict[str, str]:
    return clean_env(UV=_uv(), **extra)


def _cli(root: Path, *args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli(root, *args, cwd=cwd, UV=_uv(), **env)


def _last_run(root: Path) -> dict[str, object]:
    return json.loads((root / "labs" / LAB / "data" / "last_run.json").read_text())


def _steps(report: dict[str, object]) -> dict[str, dict[str, object]]:
    return {s["name"]: s for s in report["steps"]}  # type: ignore[index,union-attr]


def test_help_on_every_command(workspace: Path) -> None:
    for command in ([], ["labs"], ["sync"], ["run"], ["doctor"], ["runs"], ["status"], ["schedule"]):
        result = _cli(workspace, *command, "--help")
        assert result.returncode == 0 and "Usage" in result.stdout, command


def test_lab_venv_has_dbt_and_root_has_not(workspace: Path) -> None:
    lab_python = workspace / "labs" / LAB / ".venv" / "bin" / "python"
    probe = "import importlib.util as u; print(*(u.find_spec(m) is not None for m in ('dbt', 'dbt.adapters.duckdb')))"
    assert subprocess.run([lab_python, "-c", probe], capture_output=True, text=True).stdout.split() == ["True", "True"]
    # this test process runs in the root (platform) env
    import importlib.util

    assert importlib.util.find_spec("dbt") is None


def test_run_then_rerun_loads_nothing_and_skips_dbt(workspace: Path) -> None:
    first = _cli(workspace, "run", LAB)
    assert first.returncode == 0, first.stdout + first.stderr
    report = _last_run(workspace)
    steps = _steps(report)
    assert steps["load"]["rows"] and steps["transform"]["status"] == "ok"
    db = workspace / "labs" / LAB / "data" / f"{LAB}.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        gold = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'gold'"
            ).fetchall()
        }
        assert {"sales_by_region_category_week", "sku_performance", "store_ranking", "promotion_lift"} <= gold
        sales_rows = con.execute("select count(*) from raw.sales").fetchone()

    second = _cli(workspace, "run", LAB)
    assert second.returncode == 0, second.stdout + second.stderr
    steps = _steps(_last_run(workspace))
    assert steps["load"]["rows"] == 0
    assert "0 new, 0 changed" in str(steps["check"]["detail"])
    assert steps["transform"]["status"] == "skipped" and steps["test"]["status"] == "skipped"
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from raw.sales").fetchone() == sales_rows


def test_labs_lists_paths_and_last_run(workspace: Path) -> None:
    result = _cli(workspace, "labs", "--json")
    assert result.returncode == 0, result.stderr
    entry = next(e for e in json.loads(result.stdout) if e["name"] == LAB)
    assert entry["database"] == str((workspace / "labs" / LAB / "data" / f"{LAB}.duckdb").resolve())
    assert entry["dbt_dir"] == f"labs/{LAB}/dbt"


def test_second_concurrent_run_is_refused_and_database_intact(workspace: Path) -> None:
    lab_dir = workspace / "labs" / LAB
    holder = subprocess.Popen(
        [str(lab_dir / ".venv" / "bin" / "buildcpg-lab"), "--lab-dir", str(lab_dir), "run", "--full-refresh"],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    holder_file = lab_dir / "data" / ".buildcpg.holder"
    deadline = time.monotonic() + 60
    while not holder_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert holder_file.exists(), "first run never took the lock"
    second = _cli(workspace, "run", LAB, "--no-sync")
    out, _ = holder.communicate(timeout=600)
    assert second.returncode == 1
    assert "already running" in second.stdout and f"pid {holder.pid}" in second.stdout
    assert holder.returncode == 0, out
    db = lab_dir / "data" / f"{LAB}.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        loaded = con.execute("select sum(rows) from _buildcpg.ledger where source = 'sales'").fetchone()
        assert con.execute("select count(*) from raw.sales").fetchone() == loaded
        assert con.execute("select count(*) from gold.store_ranking").fetchone()[0] > 0  # type: ignore[index]


def test_database_outside_the_lab_stops_before_writing(workspace: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.duckdb"
    result = _cli(workspace, "run", LAB, "--no-sync", BUILDCPG_LAB1_SALES_PERFORMANCE_DB=str(outside))
    assert result.returncode == 1
    assert "lies outside the lab folder" in result.stdout
    assert not outside.exists()


def test_dbt_from_any_directory_hits_the_same_database(workspace: Path, tmp_path: Path) -> None:
    lab_dir = workspace / "labs" / LAB
    runner = str(lab_dir / ".venv" / "bin" / "buildcpg-lab")
    db = lab_dir / "data" / f"{LAB}.duckdb"
    for cwd in (tmp_path, lab_dir / "dbt", lab_dir / "data" / "raw"):
        result = subprocess.run(
            [runner, "--lab-dir", str(lab_dir), "dbt", "--", "run", "--select", "stg_sales"],
            cwd=cwd,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert not list(tmp_path.glob("*.duckdb")) and not list((lab_dir / "dbt").glob("*.duckdb"))
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(
            "select count(*) from information_schema.tables where table_schema = 'bronze' and table_name = 'stg_sales'"
        ).fetchone() == (1,)


def test_plain_dbt_in_the_dbt_folder_uses_the_relative_default(workspace: Path) -> None:
    lab_dir = workspace / "labs" / LAB
    result = subprocess.run(
        [str(lab_dir / ".venv" / "bin" / "dbt"), "debug", "--profiles-dir", "."],
        cwd=lab_dir / "dbt",
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout
    assert f"../data/{LAB}.duckdb" in result.stdout


def test_doctor_passes_and_reports_versions(workspace: Path) -> None:
    result = _cli(workspace, "doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all checks passed" in result.stdout and "1.12" in result.stdout


def test_unknown_lab_is_one_clear_line(workspace: Path) -> None:
    result = _cli(workspace, "run", "lab1_sales_performanc")
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "buildcpg: error: unknown lab 'lab1_sales_performanc'; did you mean lab1_sales_performance?"
    )
