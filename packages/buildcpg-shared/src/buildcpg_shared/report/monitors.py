"""The report's column monitors: the newest profiled run checked against the band of the runs before it, and a
chart of each anomalous value over the last runs with that band (dated axis, legend)."""

from __future__ import annotations

from typing import Any

import altair as alt
import duckdb

from buildcpg_shared.config.lab_config import MonitorsConfig
from buildcpg_shared.quality.monitors import latest_check, series
from buildcpg_shared.report.charts import WIDTH, to_svg, utc_iso

MONITOR_RUNS = 30
CHARTS = 4


def monitor_view(con: duckdb.DuckDBPyConnection, config: MonitorsConfig | None) -> dict[str, Any] | None:
    """``{"run_id", "checked", "learning", "anomalies": [...], "severity", "svgs": [...]}``; None without
    ``monitors:`` in lab.yaml or before the first profiled run."""
    if config is None:
        return None
    found = latest_check(con, config)
    if found is None:
        return {"run_id": "", "checked": 0, "learning": 0, "anomalies": [], "severity": config.severity, "svgs": []}
    run_id, result = found
    anomalies = [a for a in result.anomalies]
    shown = [(a.column, a.metric) for a in anomalies[:CHARTS]]
    points = series(con, shown, MONITOR_RUNS)
    svgs = [
        _band_svg(a, [p for p in points if (p["column"], p["metric"]) == (a.column, a.metric)])
        for a in anomalies[:CHARTS]
    ]
    return {
        "run_id": run_id,
        "checked": result.checked,
        "learning": result.learning,
        "anomalies": [
            {"column": a.column, "metric": a.metric, "value": a.value, "low": a.low, "high": a.high, "median": a.median}
            for a in anomalies
        ],
        "severity": config.severity,
        "svgs": [s for s in svgs if s],
    }


def _band_svg(anomaly: Any, points: list[dict[str, Any]]) -> str:
    if not points:
        return ""
    rows = [{"at": utc_iso(p["at"]), "value": p["value"], "series": "value per run"} for p in points]
    x = alt.X("at", type="temporal", title="run (UTC)", scale=alt.Scale(type="utc"))
    x = x.axis(format="%b %d %H:%M", labelAngle=-30, tickCount=6)
    names = ["value per run", "band learned from the runs before"]
    color = alt.Color(
        "series:N",
        scale=alt.Scale(domain=names, range=["#2563eb", "#93c5fd"]),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    edges = [{"at": rows[0]["at"], "series": names[1]}, {"at": rows[-1]["at"], "series": names[1]}]
    area = (
        alt.Chart(alt.Data(values=[{**e, "low": anomaly.low, "high": anomaly.high} for e in edges]))
        .mark_area(opacity=0.35)
        .encode(x=x, y=alt.Y("low:Q", title=anomaly.metric), y2="high:Q", color=color)
    )
    line = alt.Chart(alt.Data(values=rows)).mark_line(point=True).encode(x=x, y="value:Q", color=color)
    title = f"{anomaly.column} {anomaly.metric}"
    return to_svg(alt.layer(area, line).properties(width=WIDTH * 0.8, height=140, title=title))
