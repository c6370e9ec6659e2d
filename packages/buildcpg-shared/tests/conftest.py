"""Shared fixtures: a tiny lab on disk, and the real workspace root."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest
import yaml
from buildcpg_shared.ingest import ledger
from buildcpg_shared.ingest.check import CheckResult, scan
from buildcpg_shared.ingest.load import LoadedFile, ensure_tables, load_file
from buildcpg_shared.registry import Lab, Workspace
from buildcpg_shared.testing import copy_workspace, keep_only_labs, postgres_bin_or_skip, run_cli

WORKSPACE_ROOT = Path(__file__).resolve().parents[3]
LAB1 = "lab1_sales_performance"

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


@pytest.fixture(scope="session")
def lab1_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace copy holding only lab 1, its venv synced with the real uv (warm cache): for tests
    that run the lab (real dbt) in its own venv. Tests that need it pristine copy the lab out of it."""
    root = copy_workspace(WORKSPACE_ROOT, tmp_path_factory.mktemp("lab1ws") / "ws")
    keep_only_labs(root, [LAB1])
    synced = run_cli(root, "sync", LAB1)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    return root


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


def tiny_labs_workspace(root: Path, labs: dict[str, list[str]], *, broken: tuple[str, ...] = ()) -> Workspace:
    """Tiny labs (one CSV source each); ``labs`` maps each to the labs it reads; ``broken`` labs fail Check.

    Each lab's "venv" is a two-line script that execs this test's Python, so ``buildcpg run --steps
    check,load`` starts real lab processes without syncing anything.
    """
    (root / "labs").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = ["labs/*"]\n')
    for name, ups in labs.items():
        lab = root / "labs" / name
        (lab / "data" / "raw").mkdir(parents=True)
        config: dict[str, object] = {
            "name": name,
            "sources": {"items": {"files": "items*.csv", "columns": {"id": "INTEGER"}}},
        }
        if ups:
            config["inputs"] = {f"from_{u}": {"lab": u, "table": "gold.t"} for u in ups}
        (lab / "lab.yaml").write_text(yaml.safe_dump(config))
        (lab / "data" / "raw" / "items_1.csv").write_text("id\n1\n")
        if name in broken:  # a directory named like a CSV: Check fails with one line
            (lab / "data" / "raw" / "items_2.csv").mkdir()
        python = lab / ".venv" / "bin" / "python"
        python.parent.mkdir(parents=True)
        python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        python.chmod(0o755)
    return Workspace(root)


LoadPending = Callable[[Lab, duckdb.DuckDBPyConnection], list[LoadedFile]]


def plan_load(lab: Lab, con: duckdb.DuckDBPyConnection) -> CheckResult:
    """Ledger and tables ready, then the Check plan of a lab's raw folder."""
    ledger.ensure_ledger(con)
    for name, source in lab.config.sources.items():
        ensure_tables(con, name, source)
    return scan(lab.paths.raw_dir, lab.config, ledger.read_ledger(con))


@pytest.fixture
def load_pending() -> LoadPending:
    """Load every new or changed file of a lab into ``con`` (what the Load step does), in order."""

    def load(lab: Lab, con: duckdb.DuckDBPyConnection) -> list[LoadedFile]:
        plan = plan_load(lab, con)
        return [load_file(con, raw, lab.config.sources[raw.source], "r1") for raw in plan.pending]

    return load


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A real PostgreSQL server for the session (started and stopped here); skipped outside CI without one."""
    from buildcpg_shared.local_servers import postgres_server

    with postgres_server(postgres_bin_or_skip()) as url:
        yield url


@pytest.fixture
def state_url(postgres_admin_url: str) -> str:
    """A fresh database of its own on the session's PostgreSQL server: a ``BUILDCPG_STATE`` URL."""
    from buildcpg_shared.local_servers import new_database

    return new_database(postgres_admin_url)
