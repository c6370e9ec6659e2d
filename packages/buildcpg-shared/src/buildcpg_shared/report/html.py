"""Render and write the report: inline CSS and SVG, no script, no server, no network."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from buildcpg_shared.registry import Lab
from buildcpg_shared.report.chart import score_chart
from buildcpg_shared.report.collect import collect_lab


def render_report(labs: list[Lab]) -> str:
    """The HTML text of the report over ``labs``."""
    env = Environment(loader=PackageLoader("buildcpg_shared.report", "templates"), autoescape=select_autoescape())
    collected: list[dict[str, Any]] = []
    for lab in labs:
        data = collect_lab(lab)
        lab_score = data["latest"].get("lab")
        data["chart"] = score_chart(data["history"], lab_score["threshold"] if lab_score else None)
        collected.append(data)
    return env.get_template("report.html.j2").render(
        labs=collected, generated_at=datetime.now(UTC).isoformat(timespec="seconds")
    )


def write_report(labs: list[Lab], out: Path) -> Path:
    """Write the report atomically (a browser never reads half a file); returns its path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_text(render_report(labs), encoding="utf-8")
    os.replace(tmp, out)
    return out
