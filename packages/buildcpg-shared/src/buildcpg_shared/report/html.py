"""Render and write the report: inline CSS, SVG and one small inline script (the test table's filters); no
server, no network."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.registry import Lab, Workspace
from buildcpg_shared.report.svg_render import SvgBatch, SvgCache
from buildcpg_shared.report.timefmt import utc_minute, utc_text

SVG_CACHE = "report_svg"  # folder of the SVG cache under the workspace's .buildcpg/


def _declared_charts(lab: Lab) -> list[dict[str, str]]:
    from buildcpg_shared.report.charts import lab_charts

    try:
        specs = list(lab.config.report.charts)
    except BuildCPGError:
        return []
    return lab_charts(lab.paths.serving_file, specs)


def _inputs(lab: Lab) -> list[dict[str, str]]:
    """The published gold tables of other labs that ``lab`` reads (none for a broken lab.yaml)."""
    try:
        return [{"name": name, "lab": i.lab, "table": i.table} for name, i in lab.config.inputs.items()]
    except BuildCPGError:
        return []


def render_report(labs: list[Lab], workspace: Workspace | None = None) -> str:
    """The HTML text of the report over ``labs`` (run history and incidents from ``workspace``, when given).

    Its charts are drawn concurrently while the labs are read, through an SVG cache under the workspace's
    ``.buildcpg/`` (none without ``workspace``)."""
    with SvgBatch(SvgCache(workspace.state_dir / SVG_CACHE) if workspace else None) as batch:
        return batch.fill(_render(labs, workspace))


def _render(labs: list[Lab], workspace: Workspace | None) -> str:
    # imported here, not at the top: vl-convert's engine starts (SvgBatch) while Altair and SQLAlchemy load
    from buildcpg_shared.alerts import AlertDispatcher
    from buildcpg_shared.history import history_for
    from buildcpg_shared.orchestrate.graph import upstreams_of
    from buildcpg_shared.report.charts import score_history_svg
    from buildcpg_shared.report.collect import collect_lab
    from buildcpg_shared.report.history import dbt_history
    from buildcpg_shared.report.lineage import labs_graph_svg
    from buildcpg_shared.report.overview import overview_row
    from buildcpg_shared.report.run_times import SLOWER_FACTOR
    from buildcpg_shared.report.test_table import cross_lab_tests

    env = Environment(loader=PackageLoader("buildcpg_shared.report", "templates"), autoescape=select_autoescape())
    env.filters["utc"] = utc_text
    env.filters["utc_minute"] = utc_minute
    history = history_for(workspace) if workspace else None
    dispatcher = AlertDispatcher(workspace, history) if workspace and history else None
    collected: list[dict[str, Any]] = []
    for lab in labs:
        data = collect_lab(lab, recorded=history.last_record(lab.name) if history else None)
        lab_score = data["latest"].get("lab")
        data["score_svg"] = score_history_svg(data["history"], lab_score["threshold"] if lab_score else None)
        data["charts"] = _declared_charts(lab)
        data["reads"] = upstreams_of(lab)  # the cross-lab lineage: labs whose published gold it reads
        data["inputs"] = _inputs(lab)
        last_tests = {t["unique_id"]: t["statuses"][-1] for t in data["test_history"]["tests"] if t["statuses"]}
        data["dbt"] = dbt_history(lab.paths.dbt_dir / "target", lab.paths.run_results_dir, last_tests)
        health = history.health(lab.name) if history else None
        stale_after = dispatcher.stale_after_hours(lab) if dispatcher and not data["broken"] else None
        data["overview"] = overview_row(data, health, stale_after)
        collected.append(data)
    return env.get_template("report.html.j2").render(
        labs=collected,
        tests=cross_lab_tests(collected),
        labs_graph_svg=labs_graph_svg(collected),
        slower_factor=SLOWER_FACTOR,
        generated_at=utc_text(datetime.now(UTC)),
    )


def write_report(labs: list[Lab], out: Path, workspace: Workspace | None = None) -> Path:
    """Write the report atomically (a browser never reads half a file); returns its path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_text(render_report(labs, workspace), encoding="utf-8")
    os.replace(tmp, out)
    return out
