"""Why a lab cannot get a venv, what a failed uv call said, and which requirements adoption carries (no uv run)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from buildcpg_shared.errors import ConfigError
from buildcpg_shared.orchestrate.uv import UvResult, uv_problem
from buildcpg_shared.registry import Lab, Workspace
from buildcpg_shared.scaffold.adopt import python_dependencies
from buildcpg_shared.scaffold.members import add_member, remove_member

JAFFLE = Path(__file__).resolve().parents[1] / "fixtures" / "jaffle_shop_duckdb"

# uv 0.13.9's output for the conflict new-lab met adopting jaffle_shop_duckdb as it was
UV_LOCK_CONFLICT = """\
error: No solution found when resolving dependencies for split (markers: python_full_version >= '3.14' and sys_platform == 'win32')
  cause: Because buildcpg-shared depends on duckdb>=1.4 and lab6-jaffle depends on duckdb==0.10.0, we can conclude that buildcpg-shared and lab6-jaffle are incompatible.
         And because your workspace requires buildcpg-shared and lab6-jaffle, we can conclude that your workspace's requirements are unsatisfiable.

hint: While the active Python version is 3.11, the resolution failed for other Python versions supported by your project. Consider limiting your project's supported Python versions using `requires-python`.
"""  # noqa: E501


def test_uv_problem_is_the_conflict_not_the_hint() -> None:
    said = uv_problem(UvResult(1, UV_LOCK_CONFLICT))
    assert said == (
        "Because buildcpg-shared depends on duckdb>=1.4 and lab6-jaffle depends on duckdb==0.10.0, we can conclude "
        "that buildcpg-shared and lab6-jaffle are incompatible. And because your workspace requires buildcpg-shared "
        "and lab6-jaffle, we can conclude that your workspace's requirements are unsatisfiable."
    )
    assert UvResult(1, UV_LOCK_CONFLICT).last_line().startswith("hint:")  # what the user saw before
    assert uv_problem(UvResult(2, "Resolved 3 packages\nerror: Workspace member `x` is missing\n")).startswith("error:")


def test_adoption_carries_only_direct_requirements_of_a_pip_compiled_file() -> None:
    found = python_dependencies(JAFFLE)
    assert found.carried == ["python-dateutil>=2.9.0.post0"]
    assert "duckdb==0.10.0" in found.platform and "dbt-core==1.7.9" in found.platform
    assert "six==1.16.0" in found.transitive and not any(r.startswith("duckdb") for r in found.transitive)


def test_requirements_in_wins_over_the_compiled_file(tmp_path: Path) -> None:
    project = shutil.copytree(JAFFLE, tmp_path / "p")
    (project / "requirements.in").write_text("dbt-duckdb>=1.7.3,<1.8.0\npython-dateutil>=2.8,<3\n")
    found = python_dependencies(project)
    assert found.carried == ["python-dateutil>=2.8,<3"] and found.platform[0] == "dbt-duckdb>=1.7.3,<1.8.0"


def test_members_entries_round_trip_byte_for_byte(workspace_root: Path, tmp_path: Path) -> None:
    shutil.copy2(workspace_root / "pyproject.toml", tmp_path / "pyproject.toml")
    before = (tmp_path / "pyproject.toml").read_bytes()
    assert add_member(tmp_path, "labs/lab9_new") and '"labs/lab9_new",' in (tmp_path / "pyproject.toml").read_text()
    assert not add_member(tmp_path, "labs/lab9_new")
    assert remove_member(tmp_path, "labs/lab9_new") and (tmp_path / "pyproject.toml").read_bytes() == before


def test_env_problem_names_the_folder_and_what_to_do(tiny_lab: Path) -> None:
    root = tiny_lab.parents[1]
    workspace = Workspace(root)
    assert workspace.env_problem(Lab.from_dir(tiny_lab)) == ""  # matched by the labs/* glob
    stray = root / "labs" / "lab7_stray"
    stray.mkdir()
    (stray / "lab.yaml").write_text("name: lab7_stray\n")
    assert workspace.env_problem(Lab.from_dir(stray)).startswith(
        "labs/lab7_stray: no pyproject.toml: not a uv workspace member; give it one"
    )
    with pytest.raises(ConfigError, match=r"no pyproject\.toml"):
        Lab.from_dir(stray).package  # noqa: B018 - was a FileNotFoundError traceback
    (root / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = ["labs/lab9_tiny"]\n')
    (stray / "pyproject.toml").write_text('[project]\nname = "lab7-stray"\nversion = "0"\n')
    assert workspace.env_problem(Lab.from_dir(stray)).startswith('labs/lab7_stray: not a uv workspace member: add "')
