"""How long `buildcpg report` takes for 4 labs x 30 recorded runs (issue 26 asks for under 5 s).

    uv run --locked python tools/bench/bench_report.py [--labs 4] [--runs 30] [--trials 3]

The workspace is written directly, without dbt (packages/buildcpg-shared/tests/report_workspace.py: test
history, kept run_results, column profiles, a failing test with stored failures, lineage). The first render
in a process pays the imports (Altair, vl-convert, SQLAlchemy): it is printed apart from the warm ones.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packages" / "buildcpg-shared" / "tests"))

import report_workspace  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", type=int, default=4, help="labs (at least 3)")
    parser.add_argument("--runs", type=int, default=30, help="recorded runs per lab (at least 6)")
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args(argv)
    report_workspace.RUNS = max(6, args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        workspace = report_workspace.build_report_workspace(Path(tmp) / "ws", more_labs=max(0, args.labs - 3))
        started = time.perf_counter()
        from buildcpg_shared.report.html import write_report

        write_report(workspace.labs(), Path(tmp) / "report.html", workspace)
        cold = time.perf_counter() - started
        warm = []
        for _ in range(args.trials):
            started = time.perf_counter()
            out = write_report(workspace.labs(), Path(tmp) / "report.html", workspace)
            warm.append(time.perf_counter() - started)
        size = out.stat().st_size
        labs = len(workspace.labs())
    print(
        f"report of {labs} labs x {report_workspace.RUNS} runs: first {cold:.2f} s (with imports), "
        f"then median {statistics.median(warm):.2f} s over {args.trials} ({size / 1e6:.1f} MB); target < 5 s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
