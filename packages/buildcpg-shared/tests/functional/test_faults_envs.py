"""Environment faults of issue 22, end to end on copies of this workspace (real uv, real dbt, real make).

A stray folder under labs/ (a lab.yaml, no pyproject.toml) and a lab whose lab.yaml is not valid YAML
each fail alone, in one line; every other lab runs, and no command shows a traceback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
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
    hint = broken.stdout.split("lab(s) passed", 1)[1]  # make run's last lines: what to type in a lab folder
    assert "uv is not on your PATH" in hint and all(c in hint for c in README_COMMANDS), hint
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


# --- adopting dbt-labs' jaffle_shop_duckdb (a tracked copy: tests/fixtures/jaffle_shop_duckdb) ---

JAFFLE = Path(__file__).resolve().parents[1] / "fixtures" / "jaffle_shop_duckdb"
ADOPTED = "lab6_jaffle"
NOT_THE_PROJECT = ["Dockerfile", "LICENSE", "README.md", "images/", ".vscode/", ".github/", ".devcontainer.json"]


def _jaffle(dest: Path) -> Path:
    return shutil.copytree(JAFFLE, dest)


def _state(root: Path) -> tuple[bytes, bytes, bool]:
    return (root / "pyproject.toml").read_bytes(), (root / "uv.lock").read_bytes(), (root / "labs" / ADOPTED).exists()


def test_adopting_jaffle_shop_takes_the_project_and_its_direct_requirements_only(tmp_path: Path) -> None:
    root = _copy(tmp_path / "ws")
    created = run_cli(root, "new-lab", ADOPTED, "--from-dbt", str(_jaffle(tmp_path / "jaffle_shop_duckdb")))
    out = _no_traceback(created, "new-lab --from-dbt")
    assert created.returncode == 0, out
    flat = " ".join(created.stdout.split())
    assert "left out (not the dbt project" in flat and all(name in flat for name in NOT_THE_PROJECT), flat
    assert "its Python dependencies join the lab's pyproject.toml: python-dateutil>=2.9.0.post0" in flat
    assert "not carried (the lab's platform provides them" in flat and "duckdb==0.10.0" in flat
    assert "dbt-core==1.7.9" in flat and "pip-compile made for dependencies of dependencies" in flat

    lab = root / "labs" / ADOPTED
    assert sorted(p.name for p in (lab / "dbt").iterdir()) == ["dbt_project.yml", "models", "profiles.yml", "seeds"]
    deps = tomllib.loads((lab / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "python-dateutil>=2.9.0.post0" in deps
    assert not [d for d in deps if d.split("=")[0].split(">")[0] in ("duckdb", "agate", "six", "jinja2", "click")]
    assert f'"labs/{ADOPTED}"' in (root / "pyproject.toml").read_text()  # a listed workspace member

    ran = run_cli(root, "run", ADOPTED)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    with duckdb.connect(str(lab / "data" / f"{ADOPTED}.duckdb"), read_only=True) as con:
        customers = con.execute("select count(*) from main.customers").fetchall()[0][0]
    assert customers == len((JAFFLE / "seeds" / "raw_customers.csv").read_text().splitlines()) - 1


def test_an_adopted_requirement_uv_cannot_resolve_shows_uvs_conflict_and_creates_nothing(tmp_path: Path) -> None:
    root = _copy(tmp_path / "ws")
    project = _jaffle(tmp_path / "jaffle_shop_duckdb")
    requirements_in = project / "requirements.in"  # pip-compile's input: its lines are the direct requirements
    # the platform's typer needs click>=8
    requirements_in.write_text("dbt-duckdb>=1.7.3,<1.8.0\npython-dateutil>=2.8\nclick<7\n")
    before = _state(root)
    failed = run_cli(root, "new-lab", ADOPTED, "--from-dbt", str(project))
    _no_traceback(failed, "new-lab with a conflict")
    assert failed.returncode == 2, failed.stdout + failed.stderr
    said = failed.stderr.strip()
    assert said.startswith(f"buildcpg: error: uv lock failed for {ADOPTED}, nothing was created: Because "), said
    assert "click" in said and "we can conclude" in said and "\n" not in said and "hint:" not in said, said
    assert _state(root) == before  # all or nothing: pyproject.toml, uv.lock and labs/ as they were

    requirements_in.unlink()  # back to the pip-compiled requirements.txt alone
    again = run_cli(root, "new-lab", ADOPTED, "--from-dbt", str(project), "--no-sync")
    assert again.returncode == 0, again.stdout + again.stderr


# --- dbt by hand in a lab folder when uv is not on PATH (what the README's lab section says) ---

README_COMMANDS = ["make dbt ARGS=debug", "make shell", 'eval "$(make -s env)"']


def _lab_section() -> str:
    readme = (WORKSPACE_ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("Inside a lab folder", 1)[1].split("\n## ", 1)[0]


def _lab_shell(lab: Path, script: str) -> subprocess.CompletedProcess[str]:
    """``sh -c script`` in a lab folder with no uv on PATH (make finds it through $UV, as after its bootstrap)."""
    env = cli_env()
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not (Path(p) / "uv").exists())
    return subprocess.run(["sh", "-c", script], cwd=lab, env=env, capture_output=True, text=True, timeout=600)


def test_the_readme_lab_section_names_what_to_type_instead_of_uv_run_dbt() -> None:
    section = " ".join(_lab_section().split())
    assert "not `uv run dbt debug`" in section and "there may be no `uv` on your `PATH`" in section, section
    for command in README_COMMANDS:
        assert command in section, command


def test_the_readme_commands_run_dbt_and_uv_from_the_lab_venv(lab1_workspace: Path) -> None:
    lab = lab1_workspace / "labs" / LAB1
    shell = _lab_shell(lab, 'eval "$(make -s env)" && command -v dbt && dbt --version && uv --version')
    assert shell.returncode == 0, shell.stdout + shell.stderr
    lines = shell.stdout.splitlines()
    assert Path(lines[0]) == lab / ".venv" / "bin" / "dbt", lines[0]
    assert "Core:" in shell.stdout and "uv " in lines[-1], shell.stdout
    debug = _lab_shell(lab, "make dbt ARGS=debug")
    assert debug.returncode == 0 and "All checks passed!" in debug.stdout, debug.stdout + debug.stderr
    assert "dbt ARGS=debug" in _lab_shell(lab, "make help").stdout
    assert not list(lab1_workspace.glob(".venv/lib/python*/site-packages/dbt")), "dbt landed in the root venv"
