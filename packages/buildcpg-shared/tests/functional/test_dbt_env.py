"""dbt gets a lab's env vars for each call only: the process environment is left as it was."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from buildcpg_shared.testing import cli_env, copy_lab

LAB = "lab1_sales_performance"


TWO_RUNS = r"""
import json, os, sys
from pathlib import Path
from buildcpg_shared.testing import run_lab_dir

before = dict(os.environ)
out = []
for lab_dir in sys.argv[1:]:  # two copies of one lab, one after the other, in one process
    _, report = run_lab_dir(Path(lab_dir), steps=["check", "load", "transform"], echo=False)
    leaked = sorted(k for k in set(os.environ) ^ set(before) if k.startswith(("BUILDCPG_", "DBT_")))
    changed = sorted(k for k in before if os.environ.get(k) != before[k])
    out.append({"status": report.status, "error": report.error, "database": report.database,
                "leaked": leaked, "changed": changed})
print("@@" + json.dumps(out))
"""


def test_two_lab_runs_in_one_process_leave_the_environment_alone(lab1_workspace: Path, tmp_path: Path) -> None:
    python = lab1_workspace / "labs" / LAB / ".venv" / "bin" / "python"
    first = copy_lab(lab1_workspace / "labs" / LAB, tmp_path / "a")
    second = copy_lab(lab1_workspace / "labs" / LAB, tmp_path / "b")
    done = subprocess.run(
        [str(python), "-c", TWO_RUNS, str(first), str(second)],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    runs = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("@@"))[2:])
    for run, lab_dir in zip(runs, (first, second), strict=True):
        assert run["status"] in ("ok", "warn"), run["error"]
        assert run["leaked"] == [] and run["changed"] == [], run  # nothing exported beyond the dbt calls
        assert Path(run["database"]) == (lab_dir / "data" / f"{LAB}.duckdb").resolve()  # each copy its own file
