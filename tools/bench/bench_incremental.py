"""Benchmark: a new month costs a month. Full build vs one new month vs a no-change rerun of lab 1.

Generates ``--months`` + 1 months of lab 1 sales (``tools/generate_sales.py``, ``--lines`` lines over
the first ``--months``) and runs, side by side in one run:

* **full build**: ``buildcpg-lab run --full-refresh`` over every month (what each run cost before the
  silver and gold models were incremental);
* **one new month**: on a second copy that already holds the first ``--months`` months, the last
  month's file arrives and ``buildcpg-lab run`` builds it incrementally;
* **no-change rerun**: ``buildcpg-lab run`` again on that copy, with nothing new;
* **dbt pass, no new data**: a model file touched (a comment), so the build runs again with nothing
  new to load or re-check: the fixed cost of a run on this history (dbt's import, parse, the
  tables rebuilt in full, every test). The new month minus this is what the month itself cost.

Each run is its own subprocess; its peak memory is the ``ru_maxrss`` of that lab process, read by a
small wrapper process with ``resource.getrusage(RUSAGE_CHILDREN)`` (bytes on macOS, KiB on Linux).
Then every gold table of the incremental copy is compared, row for row, with the full build's.

Targets: one new month <= 0.3x the full build; its peak memory <= 0.5x the full build's.

    uv run --locked python tools/bench/bench_incremental.py [--months 12] [--lines 4800000]
    uv run --locked python tools/bench/bench_incremental.py --months 3 --lines 200000   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
from buildcpg_shared.registry import Workspace
from buildcpg_shared.registry.paths import LabPaths
from buildcpg_shared.testing import copy_lab

ROOT = Workspace.find(Path(__file__).resolve().parent).root
LAB = "lab1_sales_performance"

# Runs one command as its child and prints the child's wall time and peak RSS (bytes) as JSON.
_MEASURE = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
with open(sys.argv[1], "ab") as log:
    code = subprocess.run(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT, check=False).returncode
took = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
peak = peak if sys.platform == "darwin" else peak * 1024
print(json.dumps({"code": code, "seconds": took, "peak_bytes": peak}))
"""


@dataclass(frozen=True)
class Measured:
    """One lab run: wall time, peak memory of the lab process, and the Transform step's time."""

    seconds: float
    peak_bytes: int
    transform_s: float


def _env(paths: LabPaths) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUILDCPG_")}
    env.update(paths.dbt_env({}))
    env["VIRTUAL_ENV"] = str(paths.venv)
    return env


def _lab_run(paths: LabPaths, venv_bin: Path, log: Path, *extra: str) -> Measured:
    cmd = [str(venv_bin / "buildcpg-lab"), "--lab-dir", str(paths.root), "run", *extra]
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(log), *cmd],
        env=_env(paths),
        cwd=paths.root,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["code"] != 0:
        sys.exit(f"lab run failed ({result['code']}): {' '.join(cmd)}; see {log}:\n{log.read_text()[-3000:]}")
    report = json.loads(paths.last_run_file.read_text())
    transform = next((s["duration_s"] for s in report["steps"] if s["name"] == "transform"), 0.0)
    return Measured(result["seconds"], result["peak_bytes"], transform)


def _generate(out: Path, months: int, lines: int) -> list[Path]:
    """months + 1 monthly files (lines spread over the first months); returns the sales files in order."""
    total = lines * (months + 1) // months
    cmd = [sys.executable, str(ROOT / "tools" / "generate_sales.py"), "--out", str(out)]
    cmd += ["--months", str(months + 1), "--rows", str(total), "--no-dirty"]
    subprocess.run(cmd, check=True, capture_output=True)
    return sorted(out.glob("sales_*.csv"))


def _lab_copy(parent: Path, source: Path, files: list[Path]) -> LabPaths:
    copy = copy_lab(ROOT / "labs" / LAB, parent)
    raw = copy / "data" / "raw"
    for old in raw.glob("*.csv"):
        old.unlink()
    masters = [f for f in source.glob("*.csv") if not f.name.startswith("sales_")]
    for file in [*masters, *files]:
        shutil.copy2(file, raw / file.name)
    return LabPaths.for_dir(copy)


def _gold(database: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = 'gold' order by 1"
        ).fetchall()
        return {name: con.execute(f"select * from gold.{name} order by all").fetchall() for (name,) in tables}


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


def _show(label: str, run: Measured) -> Measured:
    line = f"  {label:<18}{run.seconds:8.2f}s  transform {run.transform_s:6.2f}s  peak {_mib(run.peak_bytes)}"
    print(line, flush=True)
    return run


def _verdict(label: str, ratio: float, target: float) -> None:
    print(f"  {label}  {ratio:.2f}x  (target <= {target:.2f}x)  {'PASS' if ratio <= target else 'MISS'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--months", type=int, default=12, help="months of history before the new month")
    parser.add_argument("--lines", type=int, default=4_800_000, help="sales lines over those months")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()

    venv_bin = ROOT / "labs" / LAB / ".venv" / "bin"
    if not (venv_bin / "buildcpg-lab").exists():
        sys.exit(f"{LAB} has no synced venv: run `make sync` first")
    with tempfile.TemporaryDirectory(prefix="buildcpg-bench-incr-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        log = work / "runs.log"
        started = time.perf_counter()
        files = _generate(work / "generated", args.months, args.lines)
        size = sum(f.stat().st_size for f in files)
        print(
            f"lab {LAB}: {len(files) - 1} months of history + 1 new month, ~{args.lines:,} lines of history "
            f"({size / 1e6:,.0f} MB of sales CSV), generated in {time.perf_counter() - started:.1f}s",
            flush=True,
        )

        full_copy = _lab_copy(work / "full", work / "generated", files)
        incr_copy = _lab_copy(work / "incr", work / "generated", files[:-1])
        print("  setup: loading and building the history on the incremental copy ...", flush=True)
        _lab_run(incr_copy, venv_bin, log)

        full = _show("full build", _lab_run(full_copy, venv_bin, log, "--full-refresh"))
        shutil.copy2(files[-1], incr_copy.raw_dir / files[-1].name)
        new = _show("one new month", _lab_run(incr_copy, venv_bin, log))
        rerun = _show("no-change rerun", _lab_run(incr_copy, venv_bin, log))
        touched = next((incr_copy.dbt_dir / "models" / "marts").glob("*.sql"))
        touched.write_text(touched.read_text() + "\n-- touched by bench_incremental: dbt runs again\n")
        floor = _show("dbt pass, no data", _lab_run(incr_copy, venv_bin, log))

        full_gold, incr_gold = _gold(full_copy.database()), _gold(incr_copy.database())
        differ = [name for name in full_gold if incr_gold.get(name) != full_gold[name]]
        identical = not differ and sorted(full_gold) == sorted(incr_gold) and len(full_gold) > 0

    print("\nresults:")
    _verdict("one new month / full build (time):    ", new.seconds / full.seconds, 0.3)
    _verdict("one new month / full build (peak mem):", new.peak_bytes / full.peak_bytes, 0.5)
    print(f"  no-change rerun / full build (time):   {rerun.seconds / full.seconds:.2f}x")
    own = max(new.seconds - floor.seconds, 0.0)
    print(f"  dbt pass with no new data / full build: {floor.seconds / full.seconds:.2f}x  (the fixed cost of a run)")
    print(f"  the month's own cost (new month - that): {own:.2f}s = {own / full.seconds:.2f}x the full build")
    same = f"identical ({len(full_gold)} tables, row for row)" if identical else "DIFFER: " + ", ".join(differ)
    print(f"  gold tables, incremental vs full build: {same}")
    if not identical:
        sys.exit(1)


if __name__ == "__main__":
    main()
