"""Per-model progress of a Transform (pipeline/dbt_progress.py): a real lab run, output piped."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from buildcpg_shared.pipeline.dbt_progress import NodeLine
from buildcpg_shared.testing import cli_env, run_cli
from conftest import LAB1

NODE = re.compile(rf"^\[{LAB1}\]   \[ *(\d+)/(\d+)\] (\w+)\.(\w+) \.\.\. (ok|error|skipped)( \d+\.\d+s)?$")


def test_node_line_text() -> None:
    assert NodeLine(12, 30, "silver.int_x", "ok", 0.42).text() == "[12/30] silver.int_x ... ok 0.4s"
    assert NodeLine(3, 30, "gold.y", "skipped", 0.0).text() == "[ 3/30] gold.y ... skipped"
    assert NodeLine.from_dict(NodeLine(1, 2, "a.b", "error", 1.0).to_dict()) == NodeLine(1, 2, "a.b", "error", 1.0)


def test_piped_run_shows_each_model_as_dbt_finishes_it(lab1_workspace: Path) -> None:
    # --full-refresh: dbt builds every model even when an earlier test already ran this workspace
    result = run_cli(lab1_workspace, "run", LAB1, "--no-sync", "--full-refresh")  # stdout: a pipe
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    nodes = [m for m in map(NODE.match, lines) if m]
    assert nodes, result.stdout
    total = int(nodes[0].group(2))
    # every model once, numbered 1..total, in the schemas dbt built them in
    assert sorted(int(m.group(1)) for m in nodes) == list(range(1, total + 1))
    assert {int(m.group(2)) for m in nodes} == {total}
    assert all(m.group(5) == "ok" for m in nodes)
    relations = {f"{m.group(3)}.{m.group(4)}" for m in nodes}
    assert {"bronze.stg_sales", "silver.int_sales_lines_checked", "gold.store_ranking"} <= relations
    # the model lines come live, before the Transform step's own line
    transform = next(i for i, line in enumerate(lines) if line.startswith(f"[{LAB1}] transform "))
    assert max(lines.index(m.group(0)) for m in nodes) < transform
    assert f"{total} model(s)" in lines[transform]


def test_a_lab_run_alone_prints_the_same_model_lines_not_dbts_info_lines(lab1_workspace: Path) -> None:
    """``make run`` in a lab folder (``buildcpg-lab run``) shows the same ``[i/n]`` lines as ``buildcpg
    run``; dbt's console is at WARN (its INFO lines would repeat each model), dbt.log keeps INFO."""
    lab = lab1_workspace / "labs" / LAB1
    command = [str(lab / ".venv" / "bin" / "buildcpg-lab"), "--lab-dir", str(lab), "run"]
    built = subprocess.run(command, env=cli_env(), capture_output=True, text=True, timeout=900, check=False)
    assert built.returncode == 0, built.stdout + built.stderr  # a build to copy estimates from
    result = subprocess.run(
        [*command, "--full-refresh"], env=cli_env(), capture_output=True, text=True, timeout=900, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    nodes = [m for m in map(NODE.match, result.stdout.splitlines()) if m]
    assert nodes and sorted(int(m.group(1)) for m in nodes) == list(range(1, int(nodes[0].group(2)) + 1))
    assert "START sql" not in result.stdout and "Running with dbt" not in result.stdout, result.stdout
    assert "WARN" in result.stdout  # the sample's duplicate-delivery test still warns on the console
    # --full-refresh reached the Python model (env var BUILDCPG_FULL_REFRESH): every estimate made again
    assert re.search(r"^int_promotion_lift_estimates: [1-9]\d* estimated, 0 copied", result.stdout, re.M), result.stdout
    assert "START sql" in (lab / "dbt" / "logs" / "dbt.log").read_text(encoding="utf-8")
