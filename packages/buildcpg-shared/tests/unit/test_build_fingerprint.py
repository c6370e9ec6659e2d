"""The project fingerprint a good build is recorded against: the same lab in two checkouts (two workers
with different paths) has one fingerprint, so state restored from the other skips dbt; a change does not."""

from __future__ import annotations

from pathlib import Path

import pytest
from buildcpg_shared.pipeline.fingerprint import project_fingerprint
from buildcpg_shared.registry.paths import LabPaths, db_env_var
from buildcpg_shared.testing import copy_lab
from conftest import WORKSPACE_ROOT

LAB = WORKSPACE_ROOT / "labs" / "lab1_sales_performance"


def _checkout(tmp_path: Path, name: str) -> LabPaths:
    return LabPaths.for_dir(copy_lab(LAB, tmp_path / name / "labs"))


def test_the_same_lab_in_two_checkouts_has_one_fingerprint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(db_env_var(LAB.name), raising=False)
    a, b = _checkout(tmp_path, "worker-a"), _checkout(tmp_path, "somewhere/else/worker-b")
    assert project_fingerprint(a) == project_fingerprint(b)

    model = next((b.dbt_dir / "models").rglob("*.sql"))
    model.write_text(model.read_text(encoding="utf-8") + "\n-- changed\n", encoding="utf-8")
    assert project_fingerprint(a) != project_fingerprint(b)


def test_a_database_outside_the_lab_changes_the_fingerprint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lab pointed at another database file (its env var): a build of the default one is not that one."""
    paths = _checkout(tmp_path, "w")
    monkeypatch.delenv(db_env_var(LAB.name), raising=False)
    default = project_fingerprint(paths)
    monkeypatch.setenv(db_env_var(LAB.name), str(tmp_path / "elsewhere.duckdb"))
    assert project_fingerprint(paths) != default
