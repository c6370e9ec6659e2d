"""Wrap an existing dbt project as a lab (``buildcpg new-lab NAME --from-dbt PATH``).

The project is copied into ``labs/<lab>/dbt`` unchanged (models, seeds, tests, macros, snapshots,
dbt_project.yml, packages.yml…), without its build artifacts and without its profiles.yml; a new
profiles.yml is generated for the project's own profile name, pointing at the lab's database.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from buildcpg_shared.errors import ScaffoldError

_NOT_COPIED = shutil.ignore_patterns(
    "target", "logs", "dbt_packages", ".user.yml", "profiles.yml", ".venv", "__pycache__", "*.duckdb", "*.duckdb.wal"
)


def read_profile_name(project_dir: Path) -> str:
    """The ``profile:`` of a dbt project; a clear error when the folder is not a dbt project."""
    project_yml = project_dir / "dbt_project.yml"
    if not project_yml.is_file():
        raise ScaffoldError(f"{project_dir}: not a dbt project (no dbt_project.yml)")
    try:
        data = yaml.safe_load(project_yml.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ScaffoldError(f"{project_yml}: cannot read: {err}") from err
    profile = data.get("profile") if isinstance(data, dict) else None
    if not isinstance(profile, str) or not profile.strip():
        raise ScaffoldError(f"{project_yml}: no 'profile:' name (dbt needs one to find its connection)")
    return profile.strip()


def copy_project(project_dir: Path, dbt_dir: Path) -> None:
    """Copy the dbt project into the lab's dbt folder, unchanged (artifacts and profiles.yml left out)."""
    shutil.copytree(project_dir, dbt_dir, ignore=_NOT_COPIED)
