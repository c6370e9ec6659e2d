"""Fixtures: the lab's whole pipeline, run once per session on a temporary copy of the lab."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from buildcpg_shared.pipeline.runner import RunReport
from buildcpg_shared.registry import Lab
from buildcpg_shared.testing import run_lab_copy

LAB_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def lab_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, RunReport]]:
    """(lab copy, report) of a full run on the shipped sample data."""
    lab, report = run_lab_copy(LAB_DIR, tmp_path_factory.mktemp("lab"))
    assert isinstance(report, RunReport)
    assert report.ok, f"lab run failed: {report.error}; steps: {[(s.name, s.status, s.detail) for s in report.steps]}"
    yield lab, report


@pytest.fixture(scope="session")
def lab_db(lab_run: tuple[Lab, RunReport]) -> Path:
    """The lab copy's DuckDB file after the full run (open it read_only)."""
    return lab_run[0].paths.database()


@pytest.fixture(scope="session")
def raw_dir(lab_run: tuple[Lab, RunReport]) -> Path:
    """The lab copy's data/raw folder (same files as the shipped sample data)."""
    return lab_run[0].paths.raw_dir
