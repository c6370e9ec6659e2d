"""Fixtures: the lab's whole pipeline, run once per session on a temporary copy of the lab."""

from __future__ import annotations

from pathlib import Path

import pytest
from buildcpg_shared.testing import lab_db, lab_run, raw_dir

__all__ = ["lab_db", "lab_run", "raw_dir"]


@pytest.fixture(scope="session")
def lab_dir() -> Path:
    """This lab's folder (the pipeline runs on a temporary copy of it)."""
    return Path(__file__).resolve().parents[1]
