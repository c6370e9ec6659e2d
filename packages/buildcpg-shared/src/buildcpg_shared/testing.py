"""Helpers for labs' own test suites: run a lab on a temporary copy, never on the real folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from buildcpg_shared.registry import Lab
from buildcpg_shared.registry.paths import db_env_var

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


def run_lab_copy(lab_dir: Path, dest_parent: Path, **options: object) -> tuple[Lab, object]:
    """Copy a lab and run its whole pipeline in this process; returns (lab, report)."""
    from buildcpg_shared.pipeline.runner import LabRunner

    copy = copy_lab(lab_dir, dest_parent)
    os.environ.pop(db_env_var(lab_dir.name), None)
    lab = Lab.from_dir(copy)
    return lab, LabRunner(lab, **options).run()  # type: ignore[arg-type]


# -- pytest fixtures for a lab's own suite ----------------------------------------------------------
# A lab's tests/conftest.py defines ``lab_dir`` (its folder) and imports these three, so every lab
# runs its pipeline once per session on a temporary copy in the same way.
try:
    import pytest
except ImportError:  # pytest is a dev dependency: the fixtures exist only where it is installed
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture(scope="session")
    def lab_run(lab_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Lab, object]:
        """(lab copy, report) of a full run on the shipped sample data; fails the session if the run fails."""
        lab, report = run_lab_copy(lab_dir, tmp_path_factory.mktemp("lab"))
        steps = [(s.name, s.status, s.detail) for s in report.steps]  # type: ignore[attr-defined]
        assert report.ok, f"lab run failed: {report.error}; steps: {steps}"  # type: ignore[attr-defined]
        return lab, report

    @pytest.fixture(scope="session")
    def lab_db(lab_run: tuple[Lab, object]) -> Path:
        """The lab copy's DuckDB file after the full run (open it read_only)."""
        return lab_run[0].paths.database()

    @pytest.fixture(scope="session")
    def raw_dir(lab_run: tuple[Lab, object]) -> Path:
        """The lab copy's data/raw folder (same files as the shipped sample data)."""
        return lab_run[0].paths.raw_dir
