"""``buildcpg report``: one static HTML file over every lab (no server, no network to open it)."""

from __future__ import annotations

from pathlib import Path

import typer

from buildcpg_shared.cli.common import console
from buildcpg_shared.cli.params import all_option, every_lab_unless_named
from buildcpg_shared.errors import BuildCPGError, os_problem
from buildcpg_shared.registry import Workspace


def report_command(
    names: list[str] | None = typer.Argument(None, metavar="[LAB]...", help="labs to cover (default: every lab)"),
    all_labs: bool = all_option("cover"),
    out: Path | None = typer.Option(None, "--out", "-o", help="HTML file to write (default: .buildcpg/report.html)"),
) -> None:
    """Write the report: last run per step, quality and its parts, score history chart, failed tests,
    quarantined rows by reason and freshness, for every lab. Reads each lab read-only."""
    workspace = Workspace.find()
    labs = every_lab_unless_named(workspace, names, all_labs)
    if not labs:
        raise BuildCPGError(f"no labs under {workspace.labs_dir}")
    target = out or workspace.root / ".buildcpg" / "report.html"
    from buildcpg_shared.report.html import write_report  # Altair: imported only when a report is written

    try:
        path = write_report(labs, target, workspace)
    except OSError as err:
        raise BuildCPGError(f"cannot write the report {target}: {os_problem(err)}") from err
    console.print(f"report for {len(labs)} lab(s) written to {path}")
