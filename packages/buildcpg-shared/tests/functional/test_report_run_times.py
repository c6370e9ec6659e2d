"""The report's run-time trends: per lab, its total model time and its slowest models over the kept runs, on a
dated axis with a legend, and a model whose time grew over 2x its median flagged."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from buildcpg_shared.report.html import write_report
from buildcpg_shared.report.run_times import run_time_trends
from buildcpg_shared.report.sample_workspace import ADOPTED, RUNS, SLOW_MODEL, UPSTREAM, build_report_workspace


@pytest.fixture(scope="module")
def workspace_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runtimes") / "ws"
    build_report_workspace(root)
    return root


def test_a_model_that_got_slow_is_flagged_against_its_median(workspace_root: Path) -> None:
    trends = run_time_trends(workspace_root / "labs" / UPSTREAM / "data" / ".buildcpg_run_results", {})
    assert len(trends["runs"]) == RUNS
    assert [m["name"] for m in trends["flagged"]] == [SLOW_MODEL]
    slow = trends["flagged"][0]
    assert slow["latest"] == pytest.approx(3.55) and slow["median"] == pytest.approx(1.02)
    assert trends["models"][0] is slow  # slowest first
    assert trends["runs"][-1]["total"] > 2 * trends["runs"][0]["total"]
    assert all(not m["flagged"] for m in trends["models"][1:])  # a steady model is not


def test_the_report_shows_trends_per_lab(workspace_root: Path, tmp_path: Path) -> None:
    from buildcpg_shared.registry import Workspace

    workspace = Workspace(workspace_root)
    html = write_report(workspace.labs(), tmp_path / "report.html", workspace).read_text()
    section = html[html.index(f'data-lab="{UPSTREAM}"') :]
    section = section[: section.index("</section>")]
    slower = re.search(r'<table class="slower-models">.*?</table>', section, re.S)
    assert slower and SLOW_MODEL in slower.group(0) and "3.5" in slower.group(0)
    chart = re.search(r'<figure class="trend-chart">(.*?)</figure>', section, re.S)
    assert chart
    labels = re.findall(r">([^<>]+)</text>", chart.group(1))
    assert "run (UTC)" in labels and any(re.fullmatch(r"Nov \d\d \d\d:\d\d", t) for t in labels), labels
    assert f"{SLOW_MODEL} ⚑ slower" in labels and "all models" in labels  # legends name every series
    adopted = html[html.index(f'data-lab="{ADOPTED}"') :]
    adopted = adopted[: adopted.index("</section>")]
    assert "No model slower than 2× its median over the last 6 run(s)." in adopted
