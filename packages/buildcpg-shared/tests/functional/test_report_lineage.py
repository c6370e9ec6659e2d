"""Lineage with status: every node coloured by its last result (its own build, else its tests), seeds drawn,
an adopted project's models placed by depth rather than all under "other", and one graph across labs."""

from __future__ import annotations

import re

import pytest
from buildcpg_shared.report.html import write_report
from buildcpg_shared.report.lineage import node_statuses
from buildcpg_shared.report.sample_workspace import (
    ADOPTED,
    DOWNSTREAM,
    SEED,
    SLOW_MODEL,
    UPSTREAM,
    build_report_workspace,
)


def test_a_node_takes_its_own_build_result_else_the_worst_of_its_tests() -> None:
    def test(name: str, on: str) -> dict[str, object]:
        return {"resource_type": "test", "name": name, "attached_node": on}

    manifest = {
        "sources": {"source.x.raw.a": {"resource_type": "source"}},
        "nodes": {
            "model.x.ok": {"resource_type": "model"},
            "model.x.broken": {"resource_type": "model"},
            "model.x.after": {"resource_type": "model"},
            "model.x.warned": {"resource_type": "model"},
            "model.x.untested": {"resource_type": "model"},
            "test.x.t1": test("t1", "model.x.ok"),
            "test.x.t2": test("t2", "model.x.warned"),
            "test.x.t3": test("t3", "model.x.warned"),
            "test.x.t4": {"resource_type": "test", "depends_on": {"nodes": ["source.x.raw.a", "macro.x.m"]}},
            "test.x.t5": test("t5", "model.x.after"),
        },
    }
    build = {"model.x.broken": "error", "model.x.after": "skipped"}
    tests = {"test.x.t1": "pass", "test.x.t2": "pass", "test.x.t3": "warn", "test.x.t4": "fail", "test.x.t5": "pass"}
    assert node_statuses(manifest, build, tests) == {
        "source.x.raw.a": "failed",  # a test on a source, found through depends_on
        "model.x.ok": "pass",
        "model.x.broken": "failed",
        "model.x.after": "skipped",  # skipped by dbt: its old tests' pass says nothing now
        "model.x.warned": "warn",
        "model.x.untested": "no tests",
        **{f"test.x.t{i}": "no tests" for i in range(1, 6)},
    }


@pytest.fixture(scope="module")
def html(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("lineage")
    workspace = build_report_workspace(root / "ws")
    return write_report(workspace.labs(), root / "report.html", workspace).read_text()


def _lineage(html: str, lab: str) -> str:
    section = html[html.index(f'data-lab="{lab}"') :]
    found = re.search(r'<figure class="lineage">(.*?)</figure>', section[: section.index("</section>")], re.S)
    assert found, lab
    return found.group(1)


def _nodes(svg: str) -> dict[str, str]:
    return dict((name, status) for status, name in re.findall(r'status: ([^;"]+); name: ([^;"]+)"', svg))


def test_each_lab_lineage_colours_nodes_by_last_result_with_seeds(html: str) -> None:
    upstream = _nodes(_lineage(html, UPSTREAM))
    assert upstream == {SEED: "no tests", "stg_orders": "no tests", SLOW_MODEL: "failed", "dim_customers": "pass"}
    svg = _lineage(html, UPSTREAM)
    assert "last result" in svg and all(f">{s}</text>" in svg for s in ("failed", "pass", "no tests"))  # legend
    axis = re.findall(r">([^<>]+)</text>", svg)
    assert {"seed", "staging", "marts"} <= set(axis) and "other" not in axis


def test_an_adopted_project_is_placed_by_depth_not_under_other(html: str) -> None:
    svg = _lineage(html, ADOPTED)
    axis = re.findall(r">([^<>]+)</text>", svg)
    assert {"sources, seeds", "step 1", "step 2", "step 3"} <= set(axis) and "other" not in axis
    assert re.search(rf"x: 0; y: 0; status: [^;]+; name: {SEED}", svg)
    assert re.search(r"x: 3; y: 0; status: pass; name: dim_customers", svg)


def test_one_graph_across_labs_shows_whose_gold_feeds_whom(html: str) -> None:
    section = html[html.index('id="labs-graph"') :]
    section = section[: section.index("</section>")]
    nodes = _nodes(section)
    assert nodes == {UPSTREAM: "red", DOWNSTREAM: "amber", ADOPTED: "green"}
    assert re.search(rf"x: 0; y: 0; status: red; name: {UPSTREAM}", section)
    assert re.search(rf"x: 1; y: 0; status: amber; name: {DOWNSTREAM}", section)  # after the lab it reads
    row = re.search(r'<table class="feeds">.*?</table>', section, re.S)
    assert row and all(s in row.group(0) for s in (UPSTREAM, "gold.orders", DOWNSTREAM, f"from_{UPSTREAM}"))
