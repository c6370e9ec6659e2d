"""How long `buildcpg report` takes for 4 labs x 30 recorded runs (issue 26 asks for under 5 s).

    uv run --locked python tools/bench/bench_report.py [--labs 4] [--runs 30] [--trials 3] [--baseline REV]
                                                       [--bytecode both|compiled|none]

The workspace is written directly, without dbt (buildcpg_shared/report/sample_workspace.py: test
history, kept run_results, column profiles, a failing test with stored failures, lineage). Every render is a
fresh `python -m buildcpg_shared.cli report` process, as a user runs it: interpreter start and imports
(Altair, vl-convert, SQLAlchemy) included. "empty cache" renders start without .buildcpg/report_cache/ (every
chart drawn), "filled cache" ones follow a render of the same data (unchanged charts are not drawn again).

Python's bytecode matters as much as the report: `make run` compiles it (UV_COMPILE_BYTECODE=1), so imports
read .pyc files; with PYTHONDONTWRITEBYTECODE set and no .pyc, every import compiles its source. Both are
timed (PYTHONPYCACHEPREFIX points at a filled or an empty temporary folder), the first being the user's way.

With --baseline REV, the library of git revision REV (e.g. the commit before a change) renders the same
workspace in the same trials, interleaved, so both see the same machine load: the ratio is printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

from buildcpg_shared.report import sample_workspace as report_workspace

ROOT = Path(__file__).resolve().parents[2]
SRC = "packages/buildcpg-shared/src"

TARGET_S = 5.0
MODES = {"compiled": "bytecode compiled (as after make run)", "none": "no bytecode (every import compiles)"}


def _render(workspace: Path, src: Path | None, env: dict[str, str]) -> float:
    """Seconds of one `buildcpg report` in a new process (``src``: import the library from there instead)."""
    env = dict(env)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "buildcpg_shared.cli", "report"],
        cwd=workspace,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def _mode_env(mode: str, tmp: Path) -> dict[str, str]:
    """The environment of a render: .pyc files read from (and written to) a folder of their own, or none."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    env["PYTHONPYCACHEPREFIX"] = str(tmp / f"pyc-{mode}")
    if mode == "none":
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _baseline_src(rev: str, into: Path) -> Path:
    """The library's sources at git revision ``rev``, extracted under ``into``."""
    archive = subprocess.run(["git", "archive", rev, SRC], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / SRC


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def _line(name: str, times: list[float]) -> str:
    return f"    {name:32s} median {statistics.median(times):5.2f} s   max {max(times):5.2f} s   ({len(times)} runs)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", type=int, default=4, help="labs (at least 3)")
    parser.add_argument("--runs", type=int, default=30, help="recorded runs per lab (at least 6)")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--baseline", metavar="REV", help="also time the report of this git revision, interleaved")
    parser.add_argument("--bytecode", choices=("both", *MODES), default="both")
    args = parser.parse_args(argv)
    report_workspace.RUNS = max(6, args.runs)
    modes = list(MODES) if args.bytecode == "both" else [args.bytecode]
    met = True
    with tempfile.TemporaryDirectory() as tmp:
        ws = report_workspace.build_report_workspace(Path(tmp) / "ws", more_labs=max(0, args.labs - 3))
        baseline = _baseline_src(args.baseline, Path(tmp) / "baseline") if args.baseline else None
        cache = ws.state_dir / "report_cache"
        print(f"report of {len(ws.labs())} labs x {report_workspace.RUNS} runs, each render a new process")
        print(f"  {os.cpu_count()} cores, load average {_load():.1f} at the start (other jobs slow it down)")
        for mode in modes:
            env = _mode_env(mode, Path(tmp))
            if mode == "compiled":  # untimed: compiles every module imported into the .pyc folder
                for src in (None, baseline) if baseline else (None,):
                    _render(ws.root, src, env)
            cold: list[float] = []
            warm: list[float] = []
            old: list[float] = []
            for _ in range(args.trials):
                shutil.rmtree(cache, ignore_errors=True)
                cold.append(_render(ws.root, None, env))
                warm.append(_render(ws.root, None, env))
                if baseline is not None:
                    old.append(_render(ws.root, baseline, env))
            print(f"  {MODES[mode]}:")
            print(_line("empty SVG cache", cold))
            print(_line("filled SVG cache", warm))
            if old:
                print(_line(f"baseline {args.baseline}", old))
                ratios = [o / c for o, c in zip(old, cold, strict=True)]
                print(f"    baseline / empty cache: {statistics.median(ratios):.2f}x (median of {len(ratios)} trials)")
            met = met and max(cold) < TARGET_S
        size = (ws.state_dir / "report.html").stat().st_size
    print(f"  load average {_load():.1f} at the end")
    print(
        f"  report.html {size / 1e6:.1f} MB; target under {TARGET_S:g} s with an empty cache: "
        + ("met" if met else "NOT met")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
