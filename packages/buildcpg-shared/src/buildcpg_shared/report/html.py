"""Render and write the report: inline CSS, SVG and one small inline script (the test table's filters); no
server, no network."""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, select_autoescape
from jinja2.bccache import Bucket

from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.registry import Lab, Workspace
from buildcpg_shared.report.svg_render import SvgBatch, SvgCache
from buildcpg_shared.report.timefmt import utc_minute, utc_text

CACHE = "report_cache"  # under the workspace's .buildcpg/: svg/ (SvgCache), template/ (the compiled template)
ESCAPED = ("html", "html.j2")  # templates whose output is HTML-escaped (the default list misses "report.html.j2")


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

    Its charts are drawn in another process while the labs are read, through a cache of SVGs and of the compiled
    template under the workspace's ``.buildcpg/report_cache/`` (none without ``workspace``)."""
    cache = workspace.state_dir / CACHE if workspace else None
    with SvgBatch(SvgCache(cache / "svg") if cache else None) as batch:
        from buildcpg_shared.report.charts import spec_checks

        with spec_checks():
            return batch.fill(_render(labs, workspace, cache))


class _TemplateCache(FileSystemBytecodeCache):
    """Jinja's compiled templates in a folder (written to a temporary file and renamed); one it cannot write is
    compiled again next time, never an error."""

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _environment(cache: Path | None) -> Environment:
    """Jinja with the report's filters; its compiled template kept under ``cache`` (compiling it takes ~0.2 s)."""
    compiled = None
    if cache is not None:
        # Jinja keys compiled code by the template's source only, but escaping is compiled in: a folder per
        # escaping setting, so code compiled under another one (a checkout from before the fix) is never reused
        folder = cache / "template" / ("escaped-" + "-".join(ESCAPED).replace(".", "_"))
        try:
            folder.mkdir(parents=True, exist_ok=True)
            compiled = _TemplateCache(str(folder))
        except OSError:
            compiled = None  # a cache: without it the template is compiled again
    env = Environment(
        loader=PackageLoader("buildcpg_shared.report", "templates"),
        autoescape=select_autoescape(ESCAPED),
        bytecode_cache=compiled,
    )
    env.filters["utc"] = utc_text
    env.filters["utc_minute"] = utc_minute
    return env


def _render(labs: list[Lab], workspace: Workspace | None, cache: Path | None) -> str:
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

    env = _environment(cache)
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
