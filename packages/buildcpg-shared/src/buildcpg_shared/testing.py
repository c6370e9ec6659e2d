"""Helpers for labs' own test suites: run a lab on a temporary copy, never on the real folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from buildcpg_shared.registry import Lab
from buildcpg_shared.registry.paths import db_env_var

if TYPE_CHECKING:
    from buildcpg_shared.pipeline.runner import RunReport

_IGNORE = shutil.ignore_patterns(
    ".venv",
    "target",
    "logs",
    "dbt_packages",
    "*.duckdb",
    "*.duckdb.wal",
    "last_run.json",
    ".buildcpg*",
    "__pycache__",
    "serving",
)


def copy_lab(lab_dir: Path, dest_parent: Path) -> Path:
    """Copy a lab's contract, dbt project and raw data (no venv, database or artifacts)."""
    dest = dest_parent / lab_dir.name
    shutil.copytree(lab_dir, dest, ignore=_IGNORE)
    return dest


def run_lab_dir(lab_dir: Path, **options: Any) -> tuple[Lab, RunReport]:
    """Run the whole pipeline of a lab folder (a copy) in this process on its own data/<lab>.duckdb."""
    from buildcpg_shared.pipeline.runner import LabRunner

    os.environ.pop(db_env_var(lab_dir.name), None)  # a previous run exported another copy's path
    lab = Lab.from_dir(lab_dir)
    return lab, LabRunner(lab, **options).run()


def run_lab_copy(lab_dir: Path, dest_parent: Path, **options: Any) -> tuple[Lab, RunReport]:
    """Copy a lab and run its whole pipeline in this process; returns (lab, report)."""
    return run_lab_dir(copy_lab(lab_dir, dest_parent), **options)
