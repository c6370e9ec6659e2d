"""Lineage with status: a lab's dbt graph with every node coloured by its last result, and one graph across
labs showing which lab's published gold feeds which."""

from __future__ import annotations

from typing import Any

import altair as alt

from buildcpg_shared.report.charts import to_svg

LAYERS = ("source", "seed", "staging", "intermediate", "marts", "other")
# a node's status: its own build (a model that errored or was skipped), else the worst of its tests
STATUSES = ("failed", "warn", "pass", "skipped", "no tests")
STATUS_COLORS = ("#c62828", "#e09a00", "#1a7f37", "#9aa5b1", "#cbd2d9")
LAB_STATUSES = ("red", "amber", "green")
LAB_COLORS = ("#c62828", "#e09a00", "#1a7f37")
_FAILED = ("error", "fail", "runtime error")


def _layer(node: dict[str, Any]) -> str:
    kind = node.get("resource_type")
    if kind in ("source", "seed"):
        return str(kind)
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


def _tested_node(test: dict[str, Any]) -> list[str]:
    """The node(s) a test checks: ``attached_node`` (dbt 1.5+), else the models, seeds and sources it reads."""
    if test.get("attached_node"):
        return [str(test["attached_node"])]
    return [str(n) for n in (test.get("depends_on") or {}).get("nodes") or [] if not str(n).startswith("macro.")]


def node_statuses(
    manifest: dict[str, Any], build_status: dict[str, str], test_status: dict[str, str]
) -> dict[str, str]:
    """Each source, seed and model's status (one of ``STATUSES``) from its own build result and its tests'."""
    tests_of: dict[str, list[str]] = {}
    for uid, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") == "test" and uid in test_status:
            for target in _tested_node(node):
                tests_of.setdefault(target, []).append(test_status[uid])
    out: dict[str, str] = {}
    for uid in [*manifest.get("sources", {}), *manifest.get("nodes", {})]:
        own = build_status.get(uid, "")
        tests = tests_of.get(uid, [])
        if own in _FAILED or any(s in _FAILED for s in tests):
            out[uid] = "failed"
        elif own == "skipped":
            out[uid] = "skipped"
        elif "warn" in tests or own == "warn":
            out[uid] = "warn"
        else:
            out[uid] = "pass" if tests else "no tests"
    return out


def _columns(nodes: dict[str, dict[str, Any]], parents: dict[str, list[str]]) -> tuple[dict[str, int], list[str]]:
    """Each node's column and the column names: by layer folder (sources and seeds, staging, intermediate,
    marts) when the project follows them; by depth in the graph when some model does not (an adopted one)."""
    layers = {uid: _layer(node) for uid, node in nodes.items()}
    if "other" not in layers.values():
        used = [layer for layer in LAYERS if layer in layers.values()]
        return {uid: used.index(layer) for uid, layer in layers.items()}, used
    depth: dict[str, int] = {}

    def depth_of(uid: str, seen: frozenset[str] = frozenset()) -> int:
        if uid not in depth:
            ups = [p for p in parents.get(uid, []) if p in nodes and p not in seen]
            depth[uid] = 0 if not ups else 1 + max(depth_of(p, seen | {uid}) for p in ups)
        return depth[uid]

    for uid in nodes:
        depth_of(uid)
    names = ["sources, seeds" if d == 0 else f"step {d}" for d in range(max(depth.values()) + 1)]
    return depth, names


def _graph_svg(
    points: list[dict[str, Any]],
    edges: list[dict[str, Any]],
    names: list[str],
    color: alt.Color,
    title: str,
    rows: int,
) -> str:
    axis_x = alt.X(
        "x",
        type="quantitative",
        axis=alt.Axis(values=list(range(len(names))), labelExpr=_label_expr(names), title=None, grid=False),
        scale=alt.Scale(domain=[-0.2, len(names) - 0.2]),
    )
    axis_y = alt.Y("y", type="quantitative", axis=None, scale=alt.Scale(domain=[-(rows - 1) - 0.5, 0.5]))
    lines = (
        alt.Chart(alt.Data(values=edges))
        .mark_rule(color="#b8c2cc", strokeWidth=1)
        .encode(x=axis_x, y=axis_y, x2="x2:Q", y2="y2:Q")
    )
    base = alt.Chart(alt.Data(values=points))
    dots = base.mark_circle(size=90, opacity=1).encode(
        x=axis_x,
        y=axis_y,
        color=color,
        tooltip=[alt.Tooltip("name", type="nominal"), alt.Tooltip("status", type="nominal")],
    )
    labels = base.mark_text(align="left", dx=7, fontSize=10).encode(x=axis_x, y=axis_y, text="name:N")
    width = max(260, 190 * len(names))
    chart = alt.layer(lines, dots, labels).properties(width=width, height=max(120, 22 * rows), title=title)
    return to_svg(chart.configure_view(strokeWidth=0))


def lineage_svg(manifest: dict[str, Any], statuses: dict[str, str] | None = None) -> str:
    """Sources, seeds and models left to right with an edge per dependency, each node coloured by its status
    (``node_statuses``); "" without a manifest."""
    nodes = {
        uid: node
        for uid, node in {**manifest.get("sources", {}), **manifest.get("nodes", {})}.items()
        if node.get("resource_type") in ("source", "seed", "model")
    }
    if not nodes:
        return ""
    parents = manifest.get("parent_map", {})
    column, names = _columns(nodes, parents)
    placed: dict[str, tuple[int, int]] = {}
    counts = [0] * len(names)
    for uid in sorted(nodes, key=lambda u: (column[u], _node_label(nodes[u], u))):
        placed[uid] = (column[uid], counts[column[uid]])
        counts[column[uid]] += 1
    statuses = statuses or {}
    points = [
        {"x": c, "y": -r, "name": _node_label(nodes[uid], uid), "status": statuses.get(uid, "no tests")}
        for uid, (c, r) in placed.items()
    ]
    edges = [
        {"x": placed[p][0], "y": -placed[p][1], "x2": placed[uid][0], "y2": -placed[uid][1]}
        for uid in placed
        for p in parents.get(uid, [])
        if p in placed
    ]
    color = alt.Color(
        "status",
        type="nominal",
        scale=alt.Scale(domain=list(STATUSES), range=list(STATUS_COLORS)),
        legend=alt.Legend(title="last result", orient="bottom"),
    )
    return _graph_svg(points, edges, names, color, "dbt lineage, coloured by last result", max(counts))


def labs_graph_svg(labs: list[dict[str, Any]]) -> str:
    """One graph across labs: each lab (coloured by its overview status) after the labs whose gold it reads,
    an edge per input (the report lists the tables under it); "" when no lab reads another."""
    feeds = {lab["name"]: lab.get("inputs") or [] for lab in labs}
    if not any(feeds.values()):
        return ""
    known = set(feeds)
    depth: dict[str, int] = {}

    def depth_of(name: str, seen: frozenset[str] = frozenset()) -> int:
        if name not in depth:
            ups = [i["lab"] for i in feeds.get(name, []) if i["lab"] in known and i["lab"] not in seen]
            depth[name] = 0 if not ups else 1 + max(depth_of(u, seen | {name}) for u in ups)
        return depth[name]

    for name in feeds:
        depth_of(name)
    placed: dict[str, tuple[int, int]] = {}
    counts = [0] * (max(depth.values()) + 1)
    for name in sorted(feeds, key=lambda n: (depth[n], n)):
        placed[name] = (depth[name], counts[depth[name]])
        counts[depth[name]] += 1
    status = {lab["name"]: lab.get("overview", {}).get("status", "amber") for lab in labs}
    points = [{"x": c, "y": -r, "name": name, "status": status[name]} for name, (c, r) in placed.items()]
    edges = [
        {"x": placed[i["lab"]][0], "y": -placed[i["lab"]][1], "x2": c, "y2": -r, "table": i["table"]}
        for name, (c, r) in placed.items()
        for i in feeds[name]
        if i["lab"] in placed
    ]
    color = alt.Color(
        "status",
        type="nominal",
        scale=alt.Scale(domain=list(LAB_STATUSES), range=list(LAB_COLORS)),
        legend=alt.Legend(title="lab status", orient="bottom"),
    )
    names = ["reads no lab" if d == 0 else f"reads {d} level(s) up" for d in range(len(counts))]
    return _graph_svg(points, edges, names, color, "labs: whose published gold feeds whom", max(counts))


def _label_expr(used: list[str]) -> str:
    names = ", ".join(f"'{layer}'" for layer in used)
    return f"[{names}][datum.value]"
