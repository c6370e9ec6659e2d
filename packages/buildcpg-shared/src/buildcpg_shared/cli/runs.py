"""``buildcpg runs``: the run history (.buildcpg/history.sqlite), newest first."""

from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from buildcpg_shared.cli.common import console
from buildcpg_shared.history import History
from buildcpg_shared.registry import Workspace
from buildcpg_shared.report.timefmt import utc_text


def runs_command(
    lab: str | None = typer.Argument(None, help="only this lab"),
    last: int = typer.Option(10, "--last", "-n", min=1, help="how many lab runs to show"),
    steps: bool = typer.Option(False, "--steps", help="one line per step under each lab run"),
    as_json: bool = typer.Option(False, "--json", help="print the runs (with their steps) as JSON"),
) -> None:
    """Show the latest lab runs from the history: status, duration, rows, quality, error."""
    workspace = Workspace.find()
    if lab:
        workspace.lab(lab)  # an unknown name is one clear line
    rows = History.for_state_dir(workspace.state_dir).lab_runs(lab, last)
    if as_json:
        print(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        console.print("no runs recorded yet (buildcpg run …)")
        return
    table = Table(title=f"last {len(rows)} lab run(s){f' of {lab}' if lab else ''}")
    for column in ("started", "lab", "status", "time", "rows", "quality", "error"):
        table.add_column(column, justify="right" if column in ("time", "rows", "quality") else "left")
    for row in rows:
        table.add_row(
            utc_text(row["started_at"]),
            row["lab"],
            row["status"],
            f"{row['duration_s']:.1f}s",
            "" if row["rows"] is None else f"{row['rows']:,}",
            "" if row["quality"] is None else f"{row['quality']:g}",
            escape(row["error"][:80]),
        )
        if steps:
            for s in row["steps"]:
                rows_text = "" if s["rows"] is None else f"{s['rows']:,}"
                table.add_row("", f"  {s['name']}", s["status"], f"{s['duration_s']:.1f}s", rows_text, "", "")
    console.print(table)
