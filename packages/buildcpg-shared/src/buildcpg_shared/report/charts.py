"""The report's charts: Vega-Lite specs built with Altair, rendered to static SVG by vl-convert (no browser,
no network: the charts need no script in the report)."""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from decimal import Decimal
from pathlib import Path
from typing import Any

import altair as alt
import duckdb
from altair.utils import schemapi

from buildcpg_shared.config.lab_config import ChartSpec
from buildcpg_shared.errors import first_line
from buildcpg_shared.report.svg_render import draw_svg
from buildcpg_shared.schema import quote_ident

WIDTH, HEIGHT = 400, 200
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "UBIGINT", "REAL")


# Altair checks every part of a chart against the Vega-Lite JSON schema as it is built and in to_dict: about a
# third of a second for a report's charts, built by this package the same way every time; the report tests turn
# it on (test_report_specs.py)
VALIDATE_SPECS = False


def spec_checks() -> AbstractContextManager[None]:
    """Within it, Altair checks what is built against the schema only when ``VALIDATE_SPECS`` is set."""
    return schemapi.debug_mode(VALIDATE_SPECS)


def to_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as one inline ``<svg>`` element (inside the report's ``SvgBatch``: a token standing for it)."""
    return draw_svg(chart.to_dict(validate=VALIDATE_SPECS))


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def utc_iso(value: Any) -> str:
    """An ISO time Vega reads as UTC (``...Z``); a naive datetime is taken as UTC, like everywhere in the report."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _vega_type(duck_type: str) -> str:
    upper = duck_type.upper()
    if upper.startswith(("DATE", "TIMESTAMP")):
        return "temporal"
    return "quantitative" if upper.startswith(_NUMERIC) else "nominal"


def chart_rows(con: duckdb.DuckDBPyConnection, spec: ChartSpec) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The rows a chart draws and the Vega type of each column (one SELECT on the read-only serving copy)."""
    columns = list(dict.fromkeys([spec.x, *spec.y, *([spec.color] if spec.color else []), *(spec.band or ())]))
    quoted = ", ".join(quote_ident(c) for c in columns)
    sql = f"select {quoted} from {spec.table}"
    if spec.where:
        sql += f" where {spec.where}"
    if spec.order_by:
        sql += f" order by {spec.order_by}"
    relation = con.sql(f"{sql} limit {spec.limit}")
    types = {name: _vega_type(str(kind)) for name, kind in zip(relation.columns, relation.types, strict=True)}
    rows = [
        {name: _json_value(v) for name, v in zip(relation.columns, row, strict=True)} for row in relation.fetchall()
    ]
    return rows, types


def spec_chart(spec: ChartSpec, rows: list[dict[str, Any]], types: dict[str, str]) -> alt.TopLevelMixin:
    """The Altair chart of one declared chart over its rows."""
    base = alt.Chart(alt.Data(values=rows)).properties(width=WIDTH, height=HEIGHT, title=spec.title)
    x_type = types[spec.x]
    agg: Any = spec.aggregate or alt.Undefined
    x = alt.X(spec.x, type=x_type, sort=None, title=spec.x)
    if len(spec.y) > 1:
        base = base.transform_fold(spec.y, as_=["series", "value"])
        y_title = ", ".join(spec.y)
        y = alt.Y("value", type="quantitative", title=y_title, aggregate=agg)
        color: Any = alt.Color("series", type="nominal", title=None)
    else:
        y_title = f"{spec.aggregate or ''} {spec.y[0]}".strip()
        y = alt.Y(spec.y[0], type="quantitative", title=y_title, aggregate=agg)
        # one series still gets a legend: a single entry naming what is drawn
        color = alt.Color(spec.color, type="nominal", title=spec.color) if spec.color else alt.datum(y_title)
    if spec.horizontal:  # several y columns: one bar per column and category, side by side, with a legend
        many = len(spec.y) > 1
        return base.mark_bar().encode(
            y=alt.Y(spec.x, type="nominal", sort=None, title=None),
            x=alt.X("value" if many else spec.y[0], type="quantitative", aggregate=agg, title=y_title),
            yOffset=alt.YOffset("series", type="nominal") if many else alt.Undefined,
            color=color,
        )
    marks = {"line": base.mark_line(point=len(rows) < 60), "bar": base.mark_bar(), "area": base.mark_area()}
    mark = marks.get(spec.mark) or base.mark_point(filled=True, size=90)
    layers = [mark.encode(x=x, y=y, color=color)]
    if spec.band:
        lower, upper = spec.band
        band_base = alt.Chart(alt.Data(values=rows)).mark_area(opacity=0.2, color="#2563eb")
        band = band_base.encode(x=x, y=alt.Y(lower, type="quantitative", title=None), y2=alt.Y2(upper))
        if spec.color:
            band = band.encode(color=color)
        layers.insert(0, band)
    return alt.layer(*layers) if len(layers) > 1 else layers[0]


def lab_charts(serving: Path, specs: list[ChartSpec]) -> list[dict[str, str]]:
    """Every declared chart as ``{"title", "svg", "error"}``; a broken chart says why, the others still render."""
    if not specs:
        return []
    if not serving.is_file():
        return [{"title": s.title, "svg": "", "error": f"no serving copy yet ({serving.name})"} for s in specs]
    out = []
    con = duckdb.connect(str(serving), read_only=True)
    try:
        for spec in specs:
            try:
                rows, types = chart_rows(con, spec)
            except duckdb.Error as err:
                out.append({"title": spec.title, "svg": "", "error": f"{spec.table}: {first_line(err)}"})
                continue
            if not rows:
                out.append({"title": spec.title, "svg": "", "error": f"{spec.table}: no rows"})
                continue
            out.append({"title": spec.title, "svg": to_svg(spec_chart(spec, rows, types)), "error": ""})
    finally:
        con.close()
    return out


def score_history_svg(history: list[dict[str, Any]], threshold: float | None) -> str:
    """The lab score over the last scored runs on a dated axis, the threshold as a dashed rule, with a legend
    ("" without runs)."""
    if not history:
        return ""
    rows = [{"at": utc_iso(h["scored_at"]), "score": float(h["score"]), "series": "lab score"} for h in history]
    names = ["lab score"] + ([f"threshold {threshold:g}"] if threshold is not None else [])
    color = alt.Color(
        "series",
        type="nominal",
        scale=alt.Scale(domain=names, range=["#2563eb", "#c62828"][: len(names)]),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    x = alt.X(
        "at",
        type="temporal",
        title="scored at (UTC)",
        axis=alt.Axis(format="%b %d %H:%M", labelAngle=-30, tickCount=6),
        scale=alt.Scale(type="utc"),
    )
    y = alt.Y("score", type="quantitative", scale=alt.Scale(domain=[0, 100]), title="score")
    base = alt.Chart(alt.Data(values=rows)).properties(width=WIDTH, height=140, title="lab score per run")
    line = base.mark_line(point=True).encode(
        x=x, y=y, color=color, tooltip=[alt.Tooltip("at", type="temporal"), alt.Tooltip("score", type="quantitative")]
    )
    if threshold is None:
        return to_svg(line)
    rule = alt.Chart(alt.Data(values=[{"score": threshold, "series": names[1]}])).mark_rule(strokeDash=[4, 3])
    return to_svg(alt.layer(line, rule.encode(y=y, color=color)))
