"""Registry and path helpers."""

from __future__ import annotations

from pathlib import Path

import pytest
from buildcpg_shared.errors import LabNotFoundError, ScaffoldError, WorkspaceNotFoundError
from buildcpg_shared.registry import LabPaths, Workspace, find_lab_dir, find_workspace_root
from buildcpg_shared.scaffold.create import validate_new_lab_name


def test_real_workspace_lists_lab1(workspace_root: Path) -> None:
    workspace = Workspace.find(workspace_root / "labs" / "lab1_sales_performance" / "dbt")
    assert workspace.root == workspace_root
    assert "lab1_sales_performance" in workspace.lab_names()
    lab = workspace.lab("lab1_sales_performance")
    assert lab.package == "lab1-sales-performance"


def test_unknown_lab_suggests_the_closest(tiny_lab: Path) -> None:
    workspace = Workspace.find(tiny_lab)
    with pytest.raises(LabNotFoundError, match="did you mean lab9_tiny"):
        workspace.lab("lab9_tiny_")
    with pytest.raises(LabNotFoundError, match="not a lab name"):
        workspace.lab("../lab9_tiny")


def test_no_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BUILDCPG_WORKSPACE", raising=False)
    with pytest.raises(WorkspaceNotFoundError, match="no BuildCPG workspace"):
        find_workspace_root(tmp_path)


def test_find_lab_dir_walks_up(tiny_lab: Path) -> None:
    assert find_lab_dir(tiny_lab / "data" / "raw") == tiny_lab.resolve()


def test_paths_of_a_lab(tiny_lab: Path) -> None:
    paths = LabPaths.for_dir(tiny_lab)
    assert paths.name == "lab9_tiny"
    assert paths.dbt_dir == tiny_lab.resolve() / "dbt"
    assert paths.raw_dir == tiny_lab.resolve() / "data" / "raw"
    assert paths.default_database == tiny_lab.resolve() / "data" / "lab9_tiny.duckdb"
    assert paths.serving_file == tiny_lab.resolve() / "data" / "serving" / "lab9_tiny.duckdb"
    assert paths.db_env_var == "BUILDCPG_LAB9_TINY_DB"


def test_database_override_is_absolute_and_cwd_independent(
    tiny_lab: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = LabPaths.for_dir(tiny_lab)
    assert paths.database({}) == paths.default_database
    rel = paths.database({"BUILDCPG_LAB9_TINY_DB": "data/alt.duckdb"})
    monkeypatch.chdir(tmp_path)
    assert (
        rel
        == paths.database({"BUILDCPG_LAB9_TINY_DB": "data/alt.duckdb"})
        == tiny_lab.resolve() / "data" / "alt.duckdb"
    )
    env = paths.dbt_env({})
    assert env["BUILDCPG_LAB9_TINY_DB"] == str(paths.default_database)
    assert Path(env["DBT_PROFILES_DIR"]).is_absolute()


def test_overlong_or_malformed_lab_names_are_one_clear_line(tiny_lab: Path) -> None:
    workspace = Workspace.find(tiny_lab)
    for name in ("lab9_" + "x" * 300, "lab9_tiny\n"):
        with pytest.raises(LabNotFoundError) as info:
            workspace.lab(name)
        assert "is not a lab name" in str(info.value) and "\n" not in str(info.value).replace(repr(name), "")


def test_new_lab_refuses_overlong_names_without_oserror(tiny_lab: Path) -> None:
    workspace = Workspace.find(tiny_lab)
    with pytest.raises(ScaffoldError, match="longer than 64 characters"):
        validate_new_lab_name(workspace, "lab7_" + "x" * 300)
    with pytest.raises(ScaffoldError, match="is not a lab name"):
        validate_new_lab_name(workspace, "lab7_ok\n")
