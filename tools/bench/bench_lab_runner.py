"""Benchmark: the lab runner vs the old one-venv way, and a no-change rerun vs a full run.

Measured side by side in one run, on fresh copies of the same lab and the same data:

* **runner**: ``buildcpg-lab run`` — one process: Check → Load → Transform → Test → Inspect → Publish,
  dbt imported once, parsed once, Transform + Test as one ``dbt build`` pass, dbt threads = cores.
* **old way**: the same work as separate commands, as the team ran it before: a load script,
  ``dbt run``, ``dbt test``, ``dbt source freshness``, an inspect script (five processes, dbt
  imported three times).
* **rerun**: ``buildcpg-lab run`` again with no new file and no model change (skips dbt).

Targets: runner ≤ 0.45× old way; full run ≥ 10× the rerun. Prints ratios, not absolute claims:
this machine is noisy, so each trial alternates the order and the median is reported. For each
scenario it also prints where the runner's time goes: the median of each step's duration from the
full run's ``data/last_run.json``, and the rest (process start, imports including dbt's).

    uv run --locked python tools/bench/bench_lab_runner.py [--lab lab1_sales_performance] [--trials 3] [--rows N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from buildcpg_shared.pipeline.dbt_package import PACKAGE_ENV, package_dir
from buildcpg_shared.registry import Workspace
from buildcpg_shared.registry.paths import LabPaths
from buildcpg_shared.testing import copy_lab

ROOT = Workspace.find(Path(__file__).resolve().parent).root


def _run(cmd: list[str], *, env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(
            f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )
    return took


def _fresh_copy(lab_dir: Path, parent: Path, rows: int) -> LabPaths:
    if parent.exists():
        shutil.rmtree(parent)
    parent.mkdir(parents=True)
    copy = copy_lab(lab_dir, parent)
    if rows:
        raw = copy / "data" / "raw"
        for old in raw.glob("*.csv"):
            old.unlink()
        subprocess.run(
            [sys.executable, str(ROOT / "tools" / "generate_sales.py"), "--out", str(raw), "--rows", str(rows)],
            check=True,
            capture_output=True,
        )
    return LabPaths.for_dir(copy)


def _env(paths: LabPaths) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUILDCPG_")}
    env.update(paths.dbt_env({}))
    env[PACKAGE_ENV] = str(package_dir())  # the shared dbt package, as the runner installs it
    env["VIRTUAL_ENV"] = str(paths.venv)
    return env


def _install_packages(venv_bin: Path, paths: LabPaths, env: dict[str, str]) -> None:
    """Setup, not timed: ``dbt deps`` (the shared dbt package) for both variants alike."""
    dirs = ["--project-dir", str(paths.dbt_dir), "--profiles-dir", str(paths.dbt_dir)]
    _run([str(venv_bin / "dbt"), "deps", *dirs], env=env, cwd=paths.root)


def _drop_database(paths: LabPaths) -> None:
    """Warm start: dbt's target/ (partial parsing) stays, the data is loaded and built anew."""
    for file in paths.data_dir.glob("*.duckdb*"):
        file.unlink()


TARGET = 0.45  # runner full run / old way


def _step_times(paths: LabPaths, wall: float) -> dict[str, float]:
    """Each step's duration in the runner's last run (``last_run.json``), and the wall time outside them."""
    report = json.loads(paths.last_run_file.read_text(encoding="utf-8"))
    steps = {s["name"]: float(s["duration_s"]) for s in report["steps"]}
    steps["outside steps"] = wall - sum(steps.values())
    return steps


def runner_full(
    lab_dir: Path, venv_bin: Path, work: Path, rows: int, warm: bool
) -> tuple[float, float, dict[str, float]]:
    """(full run, no-change rerun, the full run's step times) of the lab runner on a fresh copy."""
    paths = _fresh_copy(lab_dir, work, rows)
    env = _env(paths)
    _install_packages(venv_bin, paths, env)
    cmd = [str(venv_bin / "buildcpg-lab"), "--lab-dir", str(paths.root), "run"]
    if warm:
        _run(cmd, env=env, cwd=paths.root)
        _drop_database(paths)
    full = _run(cmd, env=env, cwd=paths.root)
    steps = _step_times(paths, full)
    rerun = _run(cmd, env=env, cwd=paths.root)
    return full, rerun, steps


def old_way(lab_dir: Path, venv_bin: Path, work: Path, rows: int, warm: bool) -> float:
    """The same work as five separate commands on a fresh copy."""
    paths = _fresh_copy(lab_dir, work, rows)
    env = _env(paths)
    _install_packages(venv_bin, paths, env)
    dbt = [str(venv_bin / "dbt")]
    dirs = ["--project-dir", str(paths.dbt_dir), "--profiles-dir", str(paths.dbt_dir)]
    lab = ["--lab-dir", str(paths.root)]
    commands = [
        [str(venv_bin / "buildcpg-lab"), *lab, "run", "--steps", "check,load"],  # the load script
        [*dbt, "run", *dirs, "--threads", "1"],
        [*dbt, "test", *dirs, "--threads", "1"],
        [*dbt, "source", "freshness", *dirs],
        [str(venv_bin / "buildcpg-lab"), *lab, "inspect", "--schemas", "gold", "raw", "quarantine"],  # inspect script
    ]
    if warm:
        for cmd in commands:
            _run(cmd, env=env, cwd=paths.root)
        _drop_database(paths)
    return sum(_run(cmd, env=env, cwd=paths.root) for cmd in commands)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lab", default="lab1_sales_performance", help="lab to benchmark (its venv must be synced)")
    parser.add_argument("--trials", type=int, default=3, help="trials per variant (median reported)")
    parser.add_argument("--rows", type=int, default=0, help="generate this many sales rows instead of the sample data")
    args = parser.parse_args()

    lab_dir = ROOT / "labs" / args.lab
    venv_bin = lab_dir / ".venv" / "bin"
    if not (venv_bin / "buildcpg-lab").exists():
        sys.exit(f"{args.lab} has no synced venv: run `make sync` first")
    data = f"{args.rows:,} generated rows" if args.rows else "sample data"
    print(f"lab {args.lab}, {data}, {args.trials} trial(s) per scenario, order alternated", flush=True)
    with tempfile.TemporaryDirectory(prefix="buildcpg-bench-") as tmp:
        work = Path(tmp)
        results = {}
        for warm in (False, True):
            scenario = "warm (target/ kept, new database)" if warm else "cold (fresh copy, no target/)"
            fulls, reruns, olds, steps = [], [], [], []
            for trial in range(args.trials):
                order = ("runner", "old") if trial % 2 == 0 else ("old", "runner")
                for variant in order:
                    if variant == "runner":
                        full, rerun, took = runner_full(lab_dir, venv_bin, work / "runner", args.rows, warm)
                        steps.append(took)
                        fulls.append(full)
                        reruns.append(rerun)
                    else:
                        olds.append(old_way(lab_dir, venv_bin, work / "old", args.rows, warm))
                print(
                    f"  {scenario} trial {trial + 1}: runner {fulls[-1]:.2f}s, old way {olds[-1]:.2f}s, "
                    f"rerun {reruns[-1]:.3f}s",
                    flush=True,
                )
            medians = tuple(statistics.median(v) for v in (fulls, olds, reruns))
            results[scenario] = (*medians, {k: statistics.median(t[k] for t in steps) for k in steps[0]})

    print("\nmedians:")
    for scenario, (full, old, rerun, took) in results.items():
        print(f"  {scenario}")
        print(f"    runner's time: {', '.join(f'{name} {sec:.2f}s' for name, sec in took.items())}")
        print(
            f"    runner full run / old way (5 commands):  {full / old:.2f}x   (target <= {TARGET:.2f}x)  "
            f"{'PASS' if full / old <= TARGET else 'MISS'}"
        )
        print(
            f"    full run / no-change rerun:              {full / rerun:.1f}x   (target >= 10x)    "
            f"{'PASS' if full / rerun >= 10 else 'MISS'}"
        )


if __name__ == "__main__":
    main()
