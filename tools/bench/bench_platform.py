"""Benchmark: what the platform (``buildcpg run --all``) costs on top of the lab runners.

On a temporary workspace copy with N labs (lab 1 and clones sharing its venv), measured in one run:

* **no-change rerun**: ``buildcpg run --all`` when no raw file and no model changed, per lab, next to
  the lab runner alone (``labs/<lab>/.venv/bin/python -m buildcpg_shared.cli.lab run``) on the
  same labs. Target: under 1 s per lab, and dbt never imported (Transform and Test skipped).
* **full run**: ``buildcpg run --all --full-refresh --jobs 1``: the share of the wall time spent
  outside the lab processes (CLI start, history, alerts, process start). Target: under 5%.

    uv run --locked python tools/bench/bench_platform.py [--labs 4] [--trials 2]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from buildcpg_shared.registry import Workspace
from buildcpg_shared.testing import clone_lab, copy_workspace, keep_only_labs

ROOT = Workspace.find(Path(__file__).resolve().parent).root
LAB = "lab1_sales_performance"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("BUILDCPG_") and k != "VIRTUAL_ENV"}


def _timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-3000:]}{proc.stderr}")
    return took


def _cli(root: Path, *args: str) -> float:
    return _timed([sys.executable, "-m", "buildcpg_shared.cli", *args], root)


def _last_lab_runs(root: Path, n: int) -> list[tuple[float, str]]:
    """(process seconds, transform+test statuses) of the last n lab runs in the history."""
    with sqlite3.connect(root / ".buildcpg" / "history.sqlite") as con:
        rows = con.execute("select id, duration_s from lab_runs order by id desc limit ?", (n,)).fetchall()
        out = []
        for lab_run, seconds in rows:
            steps = con.execute(
                "select status from step_runs where lab_run = ? and name in ('transform', 'test')", (lab_run,)
            ).fetchall()
            out.append((float(seconds), ",".join(s[0] for s in steps)))
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", type=int, default=4, help="labs in the copy (lab 1 and clones)")
    parser.add_argument("--trials", type=int, default=2, help="trials per variant (median reported)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-platform-") as tmp:
        root = copy_workspace(ROOT, Path(tmp) / "ws")
        keep_only_labs(root, [LAB])  # lab 1 and its clones: the same work per lab
        print(f"workspace copy with {args.labs} lab(s): syncing {LAB} …", flush=True)
        _cli(root, "sync", LAB)
        for i in range(2, args.labs + 1):
            clone_lab(root / "labs" / LAB, f"lab{i}_bench_clone")
        labs = Workspace(root).labs()
        print("first run (loads every lab) …", flush=True)
        _cli(root, "run", "--all", "--no-sync")

        platform, direct, skipped = [], [], []
        for _ in range(args.trials):
            platform.append(_cli(root, "run", "--all", "--no-sync", "--jobs", "1") / len(labs))
            skipped += [s for _, s in _last_lab_runs(root, len(labs))]
            direct.append(
                sum(
                    _timed([str(lab.paths.venv_python), "-m", "buildcpg_shared.cli.lab", "run"], lab.paths.root)
                    for lab in labs
                )
                / len(labs)
            )

        outside = []
        for _ in range(args.trials):
            wall = _cli(root, "run", "--all", "--no-sync", "--jobs", "1", "--full-refresh")
            inside = sum(seconds for seconds, _ in _last_lab_runs(root, len(labs)))
            outside.append((wall - inside) / wall)

    per_lab, runner_only = statistics.median(platform), statistics.median(direct)
    dbt_skipped = all(s == "skipped,skipped" for s in skipped)
    share = statistics.median(outside)
    print()
    print(f"no-change `run --all`, per lab:     {per_lab:.2f} s   (target < 1 s)  {'PASS' if per_lab < 1 else 'MISS'}")
    print(f"lab runner alone, same labs:        {runner_only:.2f} s   → platform adds {per_lab - runner_only:+.2f} s")
    print(f"dbt skipped on every no-change lab: {'yes' if dbt_skipped else 'NO'} (Transform and Test 'skipped')")
    print(f"full run, share outside lab procs:  {share:.1%}   (target < 5%)  {'PASS' if share < 0.05 else 'MISS'}")


if __name__ == "__main__":
    main()
