"""The graph of labs: which lab reads which other lab's published gold (lab.yaml ``inputs``).

``run --all``, ``watch``, ``run --due`` and the Airflow DAG factory all order labs from this one graph:
a lab starts when every upstream it needs (among the labs being run) has finished and published.
"""

from __future__ import annotations

from collections.abc import Iterable

from buildcpg_shared.errors import BuildCPGError, ConfigError
from buildcpg_shared.registry import Lab


def upstreams_of(lab: Lab) -> list[str]:
    """The labs ``lab`` reads (none for a lab whose lab.yaml is broken: its own run reports that)."""
    try:
        return lab.config.upstream_labs
    except BuildCPGError:
        return []


def lab_graph(labs: Iterable[Lab]) -> dict[str, list[str]]:
    """Each lab's upstream labs; an upstream that is not a lab of the workspace is one clear line."""
    labs = list(labs)
    known = {lab.name for lab in labs}
    graph: dict[str, list[str]] = {}
    for lab in labs:
        graph[lab.name] = upstreams_of(lab)
        for upstream in graph[lab.name]:
            if upstream not in known:
                raise ConfigError(
                    f"{lab.paths.lab_yaml}: inputs name lab {upstream}, which is not a lab of this workspace "
                    f"(labs: {', '.join(sorted(known))})"
                )
    cycle = find_cycle(graph)
    if cycle:
        raise ConfigError(f"labs read each other in a cycle through their inputs: {' → '.join(cycle)}")
    return graph


def find_cycle(graph: dict[str, list[str]]) -> list[str]:
    """One cycle as a path that ends where it starts (``[a, b, a]``), or [] when there is none."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for upstream in graph.get(node, []):
            if state.get(upstream) == 1:
                return [*path[path.index(upstream) :], upstream]
            if upstream not in state:
                found = visit(upstream)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return list(reversed(found))  # upstream → downstream reads more naturally
    return []


def levels(graph: dict[str, list[str]], names: Iterable[str]) -> list[list[str]]:
    """``names`` in waves: each lab after every upstream of it that is among ``names`` (sorted in a wave)."""
    chosen = set(names)
    depth: dict[str, int] = {}

    def level(name: str) -> int:
        if name not in depth:
            ups = [u for u in graph.get(name, []) if u in chosen]
            depth[name] = 1 + max((level(u) for u in ups), default=-1)
        return depth[name]

    waves: dict[int, list[str]] = {}
    for name in chosen:
        waves.setdefault(level(name), []).append(name)
    return [sorted(waves[i]) for i in sorted(waves)]


def downstream_of(graph: dict[str, list[str]], names: Iterable[str]) -> set[str]:
    """Every lab that reads (directly or through others) one of ``names``; ``names`` not included."""
    readers: dict[str, set[str]] = {}
    for lab, ups in graph.items():
        for upstream in ups:
            readers.setdefault(upstream, set()).add(lab)
    found: set[str] = set()
    todo = list(names)
    while todo:
        for reader in readers.get(todo.pop(), set()):
            if reader not in found:
                found.add(reader)
                todo.append(reader)
    return found - set(names)
