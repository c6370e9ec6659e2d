"""Run-time faults around the CLI: one broken lab.yaml, busy labs, file-system faults (issue 9).

Real CLI processes on a tiny workspace (no dbt needed): each fault is shown as one line naming
the lab or path and the problem, and the other labs keep working.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from buildcpg_shared.testing import run_cli

BROKEN_YAML = "name: lab8_broken\nsources:\n  orders:\n    files: 3\n    colums: {}\n"


def _with_broken_lab(tiny_lab: Path) -> Path:
    """The tiny workspace plus labs/lab8_broken whose lab.yaml is invalid."""
    root = tiny_lab.parents[1]
    broken = root / "labs" / "lab8_broken"
    (broken / "data" / "raw").mkdir(parents=True)
    (broken / "pyproject.toml").write_text('[project]\nname = "lab8-broken"\nversion = "0"\n')
    (broken / "lab.yaml").write_text(BROKEN_YAML)
    return root


def test_one_broken_lab_yaml_does_not_stop_labs_status_and_report(tiny_lab: Path) -> None:
    root = _with_broken_lab(tiny_lab)
    labs = run_cli(root, "labs")
    assert labs.returncode == 0, labs.stdout + labs.stderr
    assert "Traceback" not in labs.stderr
    assert "lab9_tiny" in labs.stdout and "Tiny" in labs.stdout
    assert "lab8_broken" in labs.stdout and "broken" in labs.stdout and "lab.yaml" in labs.stdout
    listed = run_cli(root, "labs", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows["lab9_tiny"]["title"] == "Tiny" and not rows["lab9_tiny"]["error"]
    assert "lab.yaml" in rows["lab8_broken"]["error"] and "\n" not in rows["lab8_broken"]["error"]

    status = run_cli(root, "status", "--json")
    assert "Traceback" not in status.stderr
    assert status.returncode == 1, status.stdout + status.stderr  # a broken lab is not healthy
    health = {h["lab"]: h for h in json.loads(status.stdout)}
    assert health["lab9_tiny"]["last_run"] is None and not health["lab9_tiny"]["error"]
    assert health["lab8_broken"]["healthy"] is False and "lab.yaml" in health["lab8_broken"]["error"]
    table = run_cli(root, "status")
    assert table.returncode == 1 and "broken" in table.stdout and "lab9_tiny" in table.stdout

    out = root / "report.html"
    report = run_cli(root, "report", "--out", str(out))
    assert report.returncode == 0, report.stdout + report.stderr
    html = out.read_text()
    assert "lab9_tiny" in html and "Tiny" in html
    assert "lab8_broken" in html and "broken lab.yaml" in html


def test_a_broken_lab_named_on_the_command_line_is_one_line(tiny_lab: Path) -> None:
    root = _with_broken_lab(tiny_lab)
    report = run_cli(root, "report", "lab8_broken", "--out", str(root / "r.html"))
    assert report.returncode == 0, report.stderr
    assert "broken lab.yaml" in (root / "r.html").read_text()
    shutil.rmtree(root / "labs" / "lab8_broken")
    assert run_cli(root, "labs").returncode == 0
