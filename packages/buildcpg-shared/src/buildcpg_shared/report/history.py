"""What people ask about a lab's past: per-test outcomes over the last runs, dbt model run times, lineage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import altair as alt
import duckdb

from buildcpg_shared.node_errors import dbt_error_line, kept_run_results
from buildcpg_shared.quality import store
from buildcpg_shared.report.charts import to_svg
from buildcpg_shared.report.run_times import run_time_trends

LAYERS = ("source", "staging", "intermediate", "marts", "other")


PASSED = ("pass", "success")
FAILED = ("fail", "error", "runtime error")


def test_history(con: duckdb.DuckDBPyConnection, runs: int = 10) -> dict[str, Any]:
    """``{"runs": [run ids, oldest first], "runs_at": [their times], "tests": [...]}`` over the last ``runs``
    recorded runs; tests failing now first. A test: name, relation (its model), unique_id, ``statuses`` ("" where
    it did not run), ``last_pass`` (newest pass in all the history) and ``first_failure`` (the first failure since
    that pass: when a test failing now began to fail; None for a test passing now)."""
    empty: dict[str, Any] = {"runs": [], "runs_at": [], "tests": []}
    if not store.has_table(con, store.TEST_RESULTS):
        return empty
    recent = con.execute(
        f"""select run_id, max(recorded_at) as seen_at from {store.TEST_RESULTS} where kind = 'test' group by run_id
            order by seen_at desc limit ?""",
        [runs],
    ).fetchall()[::-1]
    if not recent:
        return empty
    run_ids = [r[0] for r in recent]
    rows = con.execute(
        f"""with per_run as (
              select name, run_id, any_value(relation) as relation, any_value(unique_id) as unique_id,
                     any_value(status) as status, max(recorded_at) as seen_at
              from {store.TEST_RESULTS} where kind = 'test' group by name, run_id),
            passes as (
              select name, max(seen_at) as last_pass from per_run where status in (select unnest(?)) group by name),
            since as (
              select p.name, min(p.seen_at) as first_failure from per_run p left join passes using (name)
              where p.status in (select unnest(?)) and p.seen_at > coalesce(passes.last_pass, timestamp '0001-01-01')
              group by p.name)
            select r.name, r.relation, r.unique_id, r.run_id, r.status, passes.last_pass, since.first_failure
            from per_run r left join passes using (name) left join since using (name)
            where r.run_id in (select unnest(?))""",
        [list(PASSED), list(FAILED), run_ids],
    ).fetchall()
    by_test: dict[str, dict[str, Any]] = {}
    for name, relation, unique_id, run_id, status, last_pass, first_failure in rows:
        entry = by_test.setdefault(
            name,
            {
                "name": name,
                "relation": relation,
                "unique_id": unique_id,
                "statuses": [""] * len(run_ids),
                "last_pass": last_pass,
                "first_failure": first_failure,
            },
        )
        entry["statuses"][run_ids.index(run_id)] = status
    rank = {"error": 0, "fail": 0, "runtime error": 0, "warn": 1}
    tests = sorted(by_test.values(), key=lambda t: (rank.get(t["statuses"][-1], 2), t["name"]))
    return {"runs": run_ids, "runs_at": [r[1] for r in recent], "tests": tests}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def model_run_times(target: Path, manifest: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Models of the last ``dbt run`` or ``dbt build`` (the newer kept ``run_results.json``), slowest first:
    name, status, seconds, file, error line."""
    nodes = (manifest if manifest is not None else _read_json(target / "manifest.json")).get("nodes", {})
    out = []
    kept = [p for p in (kept_run_results(target, "run"), kept_run_results(target, "build")) if p.is_file()]
    newest = max(kept, key=lambda p: p.stat().st_mtime_ns, default=target / "run_results.json")
    for result in _read_json(newest).get("results", []):
        uid = str(result.get("unique_id", ""))
        if not uid.startswith("model."):
            continue
        node = nodes.get(uid, {})
        status = str(result.get("status", ""))
        out.append(
            {
                "name": node.get("name") or uid.rsplit(".", 1)[-1],
                "status": status,
                "seconds": float(result.get("execution_time") or 0.0),
                "file": node.get("original_file_path", ""),
                "error": dbt_error_line(result.get("message")) if status in ("error", "fail") else "",
            }
        )
    return sorted(out, key=lambda m: -m["seconds"])


def _layer(node: dict[str, Any]) -> str:
    if node.get("resource_type") == "source":
        return "source"
    path = str(node.get("original_file_path", ""))
    for layer in ("staging", "intermediate", "marts"):
        if f"/{layer}/" in f"/{path}":
            return layer
    return "other"


def _node_label(node: dict[str, Any], uid: str) -> str:
    """A node's name; an input (another lab's published table) is named by its lab and table."""
    meta = node.get("meta") or (node.get("config") or {}).get("meta") or {}
    if node.get("resource_type") == "source" and meta.get("upstream_lab"):
        return f"{meta['upstream_lab']}.{meta.get('upstream_table', '')}"
    return str(node.get("name", uid))


def lineage_svg(manifest: dict[str, Any]) -> str:
    """Sources and models placed by layer (left to right) with an edge per dependency ("" without a manifest)."""
    nodes = {
        uid: node
        for uid, node in {**manifest.get("sources", {}), **manifest.get("nodes", {})}.items()
        if node.get("resource_type") in ("source", "model")
    }
    if not nodes:
        return ""
    placed: dict[str, tuple[int, int]] = {}
    counts = dict.fromkeys(LAYERS, 0)
    for uid in sorted(nodes, key=lambda u: (LAYERS.index(_layer(nodes[u])), nodes[u].get("name", ""))):
        layer = _layer(nodes[uid])
        placed[uid] = (LAYERS.index(layer), counts[layer])
        counts[layer] += 1
    used = [layer for layer in LAYERS if counts[layer]]
    column = {LAYERS.index(layer): i for i, layer in enumerate(used)}
    points = [
        {"x": column[c], "y": -r, "name": _node_label(nodes[uid], uid), "layer": _layer(nodes[uid])}
        for uid, (c, r) in placed.items()
    ]
    edges = [
        {"x": column[placed[p][0]], "y": -placed[p][1], "x2": column[placed[uid][0]], "y2": -placed[uid][1]}
        for uid in placed
        for p in manifest.get("parent_map", {}).get(uid, [])
        if p in placed
    ]
    height = max(120, 22 * max(counts.values()))
    axis_x = alt.X(
        "x",
        type="quantitative",
        axis=alt.Axis(values=list(range(len(used))), labelExpr=_label_expr(used), title=None),
        scale=alt.Scale(domain=[-0.2, len(used) - 0.2]),
    )
    axis_y = alt.Y("y", type="quantitative", axis=None)
    lines = (
        alt.Chart(alt.Data(values=edges))
        .mark_rule(color="#b8c2cc", strokeWidth=1)
        .encode(x=axis_x, y=axis_y, x2="x2:Q", y2="y2:Q")
    )
    base = alt.Chart(alt.Data(values=points))
    dots = base.mark_circle(size=60).encode(
        x=axis_x,
        y=axis_y,
        color=alt.Color(
            "layer",
            type="nominal",
            scale=alt.Scale(domain=[layer for layer in LAYERS if layer in used]),
            legend=alt.Legend(title="layer", orient="bottom"),
        ),
    )
    labels = base.mark_text(align="left", dx=6, fontSize=10).encode(x=axis_x, y=axis_y, text="name:N")
    width = 190 * len(used)
    return to_svg(alt.layer(lines, dots, labels).properties(width=width, height=height, title="dbt lineage"))


def _label_expr(used: list[str]) -> str:
    names = ", ".join(f"'{layer}'" for layer in used)
    return f"[{names}][datum.value]"


def dbt_history(target: Path, kept_dir: Path | None = None) -> dict[str, Any]:
    """Model run times, their trends over the runs kept in ``kept_dir``, and the lineage graph from a lab's dbt
    ``target/`` folder."""
    manifest = _read_json(target / "manifest.json")
    no_trends: dict[str, Any] = {"runs": [], "models": [], "flagged": [], "svg": ""}
    trends = run_time_trends(kept_dir, manifest.get("nodes", {})) if kept_dir else no_trends
    return {
        "run_times": model_run_times(target, manifest),
        "trends": trends,
        "lineage_svg": lineage_svg(manifest) if manifest else "",
    }
