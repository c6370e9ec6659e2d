"""lab.yaml's dbt vars generated into dbt_project.yml: every way of running dbt reads the same values."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from buildcpg_shared.config.lab_config import load_lab_config
from buildcpg_shared.pipeline.dbt_project_vars import (
    BEGIN,
    END,
    has_generated_vars,
    project_file,
    project_vars_drift,
    render_vars,
    write_project_vars,
)
from buildcpg_shared.registry import LabPaths
from buildcpg_shared.scaffold.render import render_tree
from buildcpg_shared.testing import copy_lab
from conftest import WORKSPACE_ROOT

LABS = sorted(p.parent for p in (WORKSPACE_ROOT / "labs").glob("*/lab.yaml"))


@pytest.mark.parametrize("lab_dir", LABS, ids=[p.name for p in LABS])
def test_shipped_labs_carry_lab_yaml_vars_in_their_dbt_project(lab_dir: Path) -> None:
    paths = LabPaths.for_dir(lab_dir)
    config = load_lab_config(paths.lab_yaml)
    assert has_generated_vars(paths) and project_vars_drift(paths, config) == ""
    project = yaml.safe_load(project_file(paths).read_text(encoding="utf-8"))
    for key, value in config.dbt_vars().items():  # what plain dbt reads is what lab.yaml says
        assert project["vars"][key] == value, key


def test_template_vars_match_the_template_lab_yaml(tmp_path: Path) -> None:
    root = tmp_path / "lab9_demo"
    context = {"lab": "lab9_demo", "package": "lab9-demo", "title": "Demo", "db_env_var": "X", "profile": "lab9_demo"}
    render_tree(root, {**context, "adopted": False, "adopted_from": ""})
    paths = LabPaths.for_dir(root)
    assert has_generated_vars(paths) and project_vars_drift(paths) == ""


def test_a_changed_forecast_block_is_rewritten_between_the_markers_only(tmp_path: Path) -> None:
    lab = copy_lab(WORKSPACE_ROOT / "labs" / "lab2_forecast_model", tmp_path)
    paths = LabPaths.for_dir(lab)
    before = project_file(paths).read_text(encoding="utf-8")
    lab_yaml = (lab / "lab.yaml").read_text(encoding="utf-8")
    (lab / "lab.yaml").write_text(
        lab_yaml.replace("frequency: weekly", "frequency: monthly").replace("season_length: 52", "season_length: 12"),
        encoding="utf-8",
    )
    drift = project_vars_drift(paths)
    assert "dbt_project.yml: vars out of date with lab.yaml" in drift and "make dbt ARGS=parse" in drift
    assert write_project_vars(paths) is True
    after = project_file(paths).read_text(encoding="utf-8")
    assert yaml.safe_load(after)["vars"]["forecast_frequency"] == "monthly"
    assert yaml.safe_load(after)["vars"]["forecast_season_length"] == 12
    outside = lambda text: text.split(BEGIN)[0] + text.split(END)[1]  # noqa: E731
    assert outside(after) == outside(before)  # the hand-written rest of the file is untouched
    assert write_project_vars(paths) is False and project_vars_drift(paths) == ""  # unchanged: not rewritten


def test_a_dbt_project_without_the_markers_is_never_touched(tmp_path: Path) -> None:
    lab = copy_lab(WORKSPACE_ROOT / "labs" / "lab3_customer_segmentation", tmp_path)
    paths = LabPaths.for_dir(lab)
    text = project_file(paths).read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END) + 1
    own = text[:start] + text[end:]  # e.g. an adopted project's own file
    project_file(paths).write_text(own, encoding="utf-8")
    assert not has_generated_vars(paths)
    assert write_project_vars(paths) is False and project_vars_drift(paths) == ""
    assert project_file(paths).read_text(encoding="utf-8") == own
    assert render_vars(load_lab_config(paths.lab_yaml)).startswith("  buildcpg_error_after_hours: ")
