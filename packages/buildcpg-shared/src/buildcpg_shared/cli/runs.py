"""``buildcpg runs``: the run history (.buildcpg/history.sqlite), newest first."""

from __future__ import annotations

import json
import textwrap
from dataclasses import asdict
from datetime import datetime
from typing import Any

import typer
from rich.markup import escape

from buildcpg_shared.cli.common import console
from buildcpg_shared.cli.params import format_option, json_alias, output_format, print_rows
from buildcpg_shared.history import LabRunRecord, history_for
from buildcpg_shared.history.health import UnfinishedRun
from buildcpg_shared.registry import Workspace
from buildcpg_shared.report.timefmt import utc_text


def runs_command(
    lab: str | None = typer.Argument(None, help="only this lab"),
    last: int = typer.Option(10, "--last", "-n", min=1, help="how many lab runs to show"),
    steps: bool = typer.Option(False, "--steps", help="one line per step under each lab run"),
    fmt: str = format_option(),
    as_json: bool = json_alias(),
) -> None:
    """Show the latest lab runs from the history: status, duration, rows, quality, error.

    A lab run that never recorded an end is shown too: ``running``, ``queued`` (its run has not
    started it yet: no free slot, or its upstream labs still run), or ``died`` when the process of its
    run is gone (killed with the lab: nothing was left to record it); ``unknown`` for an embedded
    history read on another host than the run's (shared state always knows)."""
    fmt = output_format(fmt, as_json)
    workspace = Workspace.find()
    if lab:
        workspace.lab(lab)  # an unknown name is one clear line
    history = history_for(workspace)
    entries: list[LabRunRecord | UnfinishedRun] = [*history.lab_runs(lab, last), *history.unfinished_runs(lab, last)]
    entries.sort(key=lambda e: datetime.fromisoformat(e.started_at), reverse=True)
    entries = entries[:last]
    if fmt == "json":
        print(json.dumps([_as_dict(e) for e in entries], indent=2, default=str))
        return
    if not entries:
        console.print("no runs recorded yet (buildcpg run …)")
        return
    cells = []
    for r in entries:
        if isinstance(r, UnfinishedRun):
            style = {"died": "red", "queued": "dim"}.get(r.state, "yellow")
            cells.append([utc_text(r.started_at), r.lab, f"[{style}]{r.state}[/]", "", "", "", escape(r.describe())])
            continue
        cells.append(
            [
                utc_text(r.started_at),
                r.lab,
                str(r.status),
                f"{r.duration_s:.1f}s",
                "" if r.rows is None else f"{r.rows:,}",
                "" if r.quality is None else f"{r.quality:g}",
                escape(textwrap.shorten(r.error, 160, placeholder=" …")),  # whole words; --json has it all
            ]
        )
        if steps:
            for s in r.steps:
                rows_text = "" if s.rows is None else f"{s.rows:,}"
                cells.append(["", f"  {s.name}", str(s.status), f"{s.duration_s:.1f}s", rows_text, "", ""])
    title = f"last {len(entries)} lab run(s){f' of {lab}' if lab else ''}"
    columns = ["started", "lab", "status", "time", "rows", "quality", "error"]
    print_rows(fmt, title, columns, cells, right=("time", "rows", "quality"))


def _as_dict(entry: LabRunRecord | UnfinishedRun) -> dict[str, Any]:
    """A recorded run as its record's dict; an unfinished one with the same keys where they apply."""
    if isinstance(entry, LabRunRecord):
        return entry.to_dict()
    return {
        **asdict(entry),
        "status": entry.state,
        "finished_at": None,
        "error": entry.describe(),
        "steps": [],
    }
