"""Benchmark: creating a lab, and running every lab with ``--jobs 2`` vs ``--jobs 1``.

Measured in one run, on a temporary copy of this workspace (never the real one):

* **new-lab**: ``buildcpg new-lab`` from the template to a synced venv (render, ``uv lock``,
  ``uv sync`` from the warm uv cache), then ``remove-lab``; the median of ``--trials``.
* **run --all**: ``buildcpg run --all --full-refresh`` over the workspace's labs, ``--jobs 1`` and
  ``--jobs 2`` alternating (the order flips every trial), so both see the same machine load.
  Target: ``--jobs 2`` at least 1.5× faster than ``--jobs 1`` on 2 cores.

    uv run --locked python tools/bench/bench_labs.py [--trials 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from buildcpg_shared.registry import Workspace
from buildcpg_shared.testing import copy_workspace, run_cli

ROOT = Workspace.find(Path(__file__).resolve().parent).root
TARGET = 1.5


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

    one, two = statistics.median(times[1]), statistics.median(times[2])
    ratio = one / two
    print()
    print(f"new-lab (template → locked → synced venv), median of {args.trials}: {statistics.median(created):.2f}s")
    print(f"run --all, {len(labs)} labs: --jobs 1 {one:.2f}s, --jobs 2 {two:.2f}s (medians)")
    print(f"speed-up --jobs 2 vs --jobs 1: {ratio:.2f}x (target >= {TARGET}x) {'PASS' if ratio >= TARGET else 'MISS'}")


if __name__ == "__main__":
    main()
