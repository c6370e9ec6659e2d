"""Inputs (lab.yaml ``inputs``): a lab reads another lab's published gold from its serving copy only.

Real DuckDB files throughout: the upstream's serving copy is written by the real ``publish``; the
downstream's Check and Load run on its own database.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import duckdb
import pytest
import yaml
from buildcpg_shared.config.lab_config import LabConfig, load_lab_config
from buildcpg_shared.errors import ConfigError
from buildcpg_shared.ingest.inputs import check_inputs, copy_inputs, inputs_version
from buildcpg_shared.pipeline import fingerprint
from buildcpg_shared.pipeline.dbt_sources import render_sources
from buildcpg_shared.registry.paths import LabPaths
from buildcpg_shared.serving.publish import publish

UP = "lab1_up"
DOWN = "lab4_down"
DOWN_YAML = f"""\
name: {DOWN}
inputs:
  weekly:
    lab: {UP}
    table: gold.weekly_sales
    description: Revenue per category and week.
    columns: [category, week_start, revenue]
"""


def _publish_upstream(
    labs: Path, revenue: float, version: int, *, columns: str = "category, week_start, revenue"
) -> Path:
    """Write the upstream lab's serving copy with the real publish (gold.weekly_sales, one row)."""
    up = LabPaths(name=UP, root=labs / UP)
    up.root.mkdir(parents=True, exist_ok=True)
    up.lab_yaml.write_text(f"name: {UP}\n")
    con = duckdb.connect()
    con.execute("create schema gold")
    values = {"category": "'Snacks'", "week_start": "date '2026-01-05'", "revenue": str(revenue)}
    select = ", ".join(f"{values[c.strip()]} as {c.strip()}" for c in columns.split(","))
    con.execute(f"create table gold.weekly_sales as select {select}")
    publish(con, up.serving_file, lab=UP, run_id=f"r{version}", version=version)
    con.close()
    return up.serving_file


def _down(labs: Path, text: str = DOWN_YAML) -> tuple[LabPaths, LabConfig]:
    paths = LabPaths(name=DOWN, root=labs / DOWN)
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.lab_yaml.write_text(text)
    return paths, load_lab_config(paths.lab_yaml)


def test_copy_reads_the_published_version_once_and_again_when_it_changes(tmp_path: Path) -> None:
    labs = tmp_path / "labs"
    _publish_upstream(labs, 10.0, version=1)
    paths, config = _down(labs)
    con = duckdb.connect(str(tmp_path / "down.duckdb"))
    check = check_inputs(con, paths, config)
    assert check.problems == []
    assert check.published["weekly"].version == 1
    first = copy_inputs(con, paths, config, check, "run-a")
    assert first.copied == ["weekly"] and first.versions == {"weekly": f"{UP} v1"}
    assert con.execute("select revenue from inputs.weekly").fetchall() == [(10.0,)]
    before = inputs_version(con)

    again = copy_inputs(con, paths, config, check_inputs(con, paths, config), "run-b")
    assert again.copied == []  # same published version: nothing copied, nothing to rebuild
    assert inputs_version(con) == f"weekly={UP}@1"

    _publish_upstream(labs, 25.0, version=2)
    third = copy_inputs(con, paths, config, check_inputs(con, paths, config), "run-c")
    assert third.copied == ["weekly"] and third.versions == {"weekly": f"{UP} v2"}
    assert con.execute("select revenue from inputs.weekly").fetchall() == [(25.0,)]
    assert inputs_version(con) == f"weekly={UP}@2" != before
    recorded = con.execute("select version, upstream_run_id, run_id from _buildcpg.input_versions").fetchall()
    assert recorded == [(2, "r2", "run-c")]


def test_data_version_changes_with_an_input_version(tmp_path: Path) -> None:
    """The fingerprint a no-change rerun compares: a new upstream version must change it."""
    from buildcpg_shared.ingest.ledger import ensure_ledger

    labs = tmp_path / "labs"
    _publish_upstream(labs, 1.0, version=1)
    paths, config = _down(labs)
    con = duckdb.connect(str(tmp_path / "down.duckdb"))
    ensure_ledger(con)
    copy_inputs(con, paths, config, check_inputs(con, paths, config), "a")
    v1 = fingerprint.data_version(con)
    assert fingerprint.data_version(con) == v1
    _publish_upstream(labs, 2.0, version=2)
    copy_inputs(con, paths, config, check_inputs(con, paths, config), "b")
    assert fingerprint.data_version(con) != v1


def test_upstream_reads_never_lock_its_serving_copy(tmp_path: Path) -> None:
    """The downstream detaches after each read: the upstream can publish (replace the file) right after."""
    labs = tmp_path / "labs"
    _publish_upstream(labs, 1.0, version=1)
    paths, config = _down(labs)
    con = duckdb.connect(str(tmp_path / "down.duckdb"))
    copy_inputs(con, paths, config, check_inputs(con, paths, config), "a")
    attached = [r[0] for r in con.execute("select database_name from duckdb_databases()").fetchall()]
    assert not any(name.startswith("buildcpg_input_") for name in attached)
    _publish_upstream(labs, 3.0, version=2)  # would fail on a system that locks open files if still attached
    writer = duckdb.connect(str(LabPaths(name=UP, root=labs / UP).serving_file))  # read-write open works
    writer.close()


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("no_lab", "input weekly: no lab lab1_up in this workspace"),
        ("not_published", "input weekly: lab1_up has not published yet"),
        ("no_table", "input weekly: lab1_up publishes no gold.weekly_sales (it publishes: gold.other)"),
        ("dropped_column", "input weekly: lab1_up: gold.weekly_sales has no column(s) revenue"),
    ],
)
def test_a_missing_or_incompatible_input_is_one_line(tmp_path: Path, case: str, expected: str) -> None:
    labs = tmp_path / "labs"
    if case == "not_published":
        (labs / UP).mkdir(parents=True)
        (labs / UP / "lab.yaml").write_text(f"name: {UP}\n")
    elif case == "no_table":
        serving = _publish_upstream(labs, 1.0, version=1)
        con = duckdb.connect(str(serving))
        con.execute("alter table gold.weekly_sales rename to other")
        con.close()
    elif case == "dropped_column":
        _publish_upstream(labs, 1.0, version=1, columns="category, week_start")
    paths, config = _down(labs)
    con = duckdb.connect(str(tmp_path / "down.duckdb"))
    check = check_inputs(con, paths, config)
    assert len(check.problems) == 1
    assert check.problems[0].startswith(expected), check.problems[0]
    assert "\n" not in check.problems[0]
    assert copy_inputs(con, paths, config, check, "x").copied == []
    exists = con.execute("select count(*) from information_schema.tables where table_schema = 'inputs'").fetchone()
    assert exists == (0,)


def test_inputs_are_a_dbt_source_with_their_upstream(tmp_path: Path) -> None:
    _, config = _down(tmp_path / "labs")
    sources = yaml.safe_load(render_sources(config))["sources"]
    assert [s["name"] for s in sources] == ["inputs"]  # no raw source: this lab has no raw files
    (table,) = sources[0]["tables"]
    assert table["name"] == "weekly"
    assert table["config"]["meta"] == {"upstream_lab": UP, "upstream_table": "gold.weekly_sales"}
    assert [c["name"] for c in table["columns"]] == ["category", "week_start", "revenue"]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"w": {"lab": DOWN, "table": "gold.x"}}, "inputs.w: a lab cannot read its own output"),
        ({"w": {"lab": UP, "table": "silver.x"}}, "must be gold.<table>"),
        ({"w": {"lab": "Lab One", "table": "gold.x"}}, "is not a lab name"),
        ({"Bad": {"lab": UP, "table": "gold.x"}}, "input name 'Bad' must be lowercase snake_case"),
    ],
)
def test_bad_inputs_in_lab_yaml_are_one_line(tmp_path: Path, inputs: dict[str, object], message: str) -> None:
    text = yaml.safe_dump({"name": DOWN, "inputs": inputs})
    with pytest.raises(ConfigError, match=r"lab\.yaml: inputs") as raised:
        _down(tmp_path / "labs", textwrap.dedent(text))
    assert message in str(raised.value)


def test_new_lab_template_shows_inputs_and_its_example_validates(tmp_path: Path) -> None:
    """`new-lab` renders lab.yaml with a commented `inputs:` example; uncommented, it is a valid contract."""
    from buildcpg_shared.scaffold.create import _context
    from buildcpg_shared.scaffold.render import render_tree

    lab = tmp_path / "labs" / "lab7_reader"
    render_tree(lab, _context("lab7_reader", adopted_from=None, profile=None))
    text = (lab / "lab.yaml").read_text()
    block = text[text.index("# inputs:") :].split("\n\n", 1)[0]
    uncommented = "\n".join(line.removeprefix("# ") for line in block.splitlines())
    (lab / "lab.yaml").write_text(text.replace(block, uncommented))
    config = load_lab_config(lab / "lab.yaml")
    assert config.upstream_labs == ["lab1_sales_performance"]
    assert config.inputs["weekly_sales"].table == "gold.category_week"


def test_the_report_shows_the_cross_lab_lineage(tmp_path: Path) -> None:
    """The overview says which labs a lab reads; its dbt lineage names each input by lab and table."""
    from buildcpg_shared.registry import Lab
    from buildcpg_shared.report.history import lineage_svg
    from buildcpg_shared.report.html import render_report

    paths, _ = _down(tmp_path / "labs")
    html = render_report([Lab.from_dir(paths.root)])
    assert f'reads <a href="#{UP}">{UP}</a>' in html
    manifest = {
        "sources": {
            "source.x.inputs.weekly": {
                "resource_type": "source",
                "name": "weekly",
                "config": {"meta": {"upstream_lab": UP, "upstream_table": "gold.weekly_sales"}},
            }
        },
        "nodes": {
            "model.x.stg": {"resource_type": "model", "name": "stg", "original_file_path": "models/staging/stg.sql"}
        },
        "parent_map": {"model.x.stg": ["source.x.inputs.weekly"]},
    }
    svg = lineage_svg(manifest)
    assert f"{UP}.gold.weekly_sales" in svg and ">stg<" in svg


def test_an_upstream_published_before_the_gold_only_serving_copy_is_still_read(tmp_path: Path) -> None:
    """An upstream whose build did not change is not published again after an upgrade: its serving copy
    keeps the version row in ``_buildcpg.serving_version``, and its readers must still read it."""
    serving = _publish_upstream(tmp_path, 10.0, 7)
    with duckdb.connect(str(serving)) as con:  # the older layout of the same copy
        con.execute("create schema _buildcpg")
        con.execute("create table _buildcpg.serving_version as select * from main._buildcpg_version")
        con.execute("drop table main._buildcpg_version")
    paths, config = _down(tmp_path)
    with duckdb.connect(str(paths.root / "down.duckdb")) as con:
        checked = check_inputs(con, paths, config)
        assert checked.problems == [] and checked.published["weekly"].version == 7
