"""Shared fixtures: a tiny lab on disk, and the real workspace root."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

WORKSPACE_ROOT = Path(__file__).resolve().parents[3]

TINY_LAB_YAML = """\
name: lab9_tiny
title: Tiny
sources:
  orders:
    files: "orders*.csv"
    primary_key: [order_id]
    columns:
      order_id: {type: VARCHAR, required: true}
      order_date: DATE
      amount: "DECIMAL(10,2)"
"""


@pytest.fixture
def workspace_root() -> Path:
    """The real workspace this test suite belongs to."""
    return WORKSPACE_ROOT


@pytest.fixture
def tiny_lab_yaml() -> str:
    """A small valid lab.yaml (lab9_tiny, one source 'orders')."""
    return TINY_LAB_YAML


@pytest.fixture
def tiny_lab(tmp_path: Path) -> Path:
    """labs/lab9_tiny with a lab.yaml and one raw file, inside a minimal workspace."""
    root = tmp_path / "ws"
    lab = root / "labs" / "lab9_tiny"
    (lab / "data" / "raw").mkdir(parents=True)
    (lab / "dbt").mkdir()
    (root / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = ["labs/*"]\n')
    (lab / "pyproject.toml").write_text('[project]\nname = "lab9-tiny"\nversion = "0"\n')
    (lab / "lab.yaml").write_text(TINY_LAB_YAML)
    (lab / "data" / "raw" / "orders_1.csv").write_text(
        textwrap.dedent(
            """\
            order_id,order_date,amount
            A1,2026-01-01,10.50
            A2,2026-01-02,oops
            A3,2026-02-30,3.00
            A4,2026-01-04,4.25
            """
        )
    )
    return lab
