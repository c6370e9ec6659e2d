"""Benchmark: creating a lab, and running every lab with ``--jobs 2`` vs ``--jobs 1``.

Measured in one run, on a temporary copy of this workspace (never the real one):

* **new-lab**: ``buildcpg new-lab`` from the template to a synced venv (render, ``uv lock``,
  ``uv sync`` from the warm uv cache), then ``remove-lab``; the median of ``--trials``.
* **run --all**: ``buildcpg run --all --full-refresh`` over the workspace's labs in graph order
  (lab 4 reads labs 1-3, so it starts when they have published), ``--jobs 1`` and ``--jobs 2``
  alternating (the order flips every trial), so both see the same machine load.
  Target: ``--jobs 2`` at least 1.5× faster than ``--jobs 1`` on 2 cores.
* **no-change run --all**: nothing new anywhere, every lab's dbt skipped; the cost per lab.
  Target: under 1 s per lab.

    uv run --locked python tools/bench/bench_labs.py [--trials 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from buildcpg_shared.orchestrate.graph import lab_graph, levels
from buildcpg_shared.registry import Workspace
from buildcpg_shared.testing import copy_workspace, run_cli

ROOT = Workspace.find(Path(__file__).resolve().parent).root
TARGET = 1.5
IDLE_TARGET_S = 1.0


def _timed(root: Path, *args: str) -> float:
    start = time.perf_counter()
    result = run_cli(root, *args)
    took = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"benchmark command failed: buildcpg {' '.join(args)}\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3, help="trials per variant; the median is reported")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-labs-") as tmp:
        root = copy_workspace(ROOT, Path(tmp) / "buildcpg-labs")
        print(f"workspace copy: {root}")
        _timed(root, "sync")
        labs = Workspace(root).lab_names()
        graph = lab_graph(Workspace(root).labs())
        print("graph order: " + " → ".join(" + ".join(wave) for wave in levels(graph, graph)))

        created = []
        for trial in range(1, args.trials + 1):
            took = _timed(root, "new-lab", "lab99_bench")
            created.append(took)
            _timed(root, "remove-lab", "lab99_bench", "--yes")
            print(f"trial {trial}: new-lab to a synced venv {took:.2f}s")

        _timed(root, "run", "--all", "--jobs", "2")  # warm-up: parse caches, bytecode
        times: dict[int, list[float]] = {1: [], 2: []}
        for trial in range(1, args.trials + 1):
            order = (1, 2) if trial % 2 else (2, 1)
            for jobs in order:
                times[jobs].append(_timed(root, "run", "--all", "--full-refresh", "--jobs", str(jobs)))
            one, two = times[1][-1], times[2][-1]
            print(f"trial {trial}: run --all ({len(labs)} labs) --jobs 1 {one:.2f}s, --jobs 2 {two:.2f}s")
        idle = [_timed(root, "run", "--all", "--no-sync") for _ in range(args.trials)]
        print(f"no-change run --all: {', '.join(f'{t:.2f}s' for t in idle)}")

    one, two = statistics.median(times[1]), statistics.median(times[2])
    ratio = one / two
    print()
    print(f"new-lab (template → locked → synced venv), median of {args.trials}: {statistics.median(created):.2f}s")
    print(f"run --all, {len(labs)} labs: --jobs 1 {one:.2f}s, --jobs 2 {two:.2f}s (medians)")
    print(f"speed-up --jobs 2 vs --jobs 1: {ratio:.2f}x (target >= {TARGET}x) {'PASS' if ratio >= TARGET else 'MISS'}")
    per_lab = statistics.median(idle) / len(labs)
    verdict = "PASS" if per_lab < IDLE_TARGET_S else "MISS"
    target = f"target < {IDLE_TARGET_S:g}s"
    print(f"no-change run --all: {per_lab:.2f}s per lab (median / {len(labs)} labs; {target}) {verdict}")


if __name__ == "__main__":
    main()
