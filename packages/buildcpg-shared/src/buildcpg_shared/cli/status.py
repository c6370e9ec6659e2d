"""``buildcpg status``: health of every lab from the run history (last success, failures in a row, staleness)."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.markup import escape

from buildcpg_shared.alerts import AlertDispatcher
from buildcpg_shared.cli.common import console, lab_title
from buildcpg_shared.cli.params import format_option, json_alias, output_format, print_rows
from buildcpg_shared.history import History
from buildcpg_shared.registry import Workspace
from buildcpg_shared.report.timefmt import utc_text


def status_command(
    alert: bool = typer.Option(False, "--alert", help="also open 'stale' incidents and send their alerts"),
    fmt: str = format_option(),
    as_json: bool = json_alias(),
) -> None:
    """Health per lab: last run, last success, failures in a row, hours since success, open incidents.

    Exits 1 when any lab's last run failed, is stale or has an open incident, or its lab.yaml is
    broken (shown with the one-line reason; the other labs are still shown); 0 otherwise.
    """
    fmt = output_format(fmt, as_json)
    workspace = Workspace.find()
    history = History.for_state_dir(workspace.state_dir)
    dispatcher = AlertDispatcher(workspace, history)
    deliveries = []
    out = []
    for lab in workspace.labs():
        if alert:
            deliveries += dispatcher.check_stale(lab)
        health = history.health(lab.name)
        hours = health.hours_since_success()
        limit = dispatcher.stale_after_hours(lab)
        stale = limit is not None and health.last_run is not None and (hours is None or hours > limit)
        _, error = lab_title(lab, workspace)  # a broken lab.yaml: shown as broken, the other labs still shown
        out.append(
            {
                **asdict(health),
                "open_incidents": list(health.open_incidents),
                "hours_since_success": None if hours is None else round(hours, 2),
                "stale_after_hours": limit,
                "stale": stale,
                "schedule": None if error else lab.config.schedule,
                "error": error,
                "healthy": not error and health.last_status != "failed" and not stale and not health.open_incidents,
            }
        )
    if fmt == "json":
        print(json.dumps(out, indent=2))
    else:
        cells = []
        for h in out:
            health_text = (
                "[green]healthy[/]" if h["healthy"] else ("[yellow]stale[/]" if h["stale"] else "[red]unhealthy[/]")
            )
            if h["last_run"] is None:
                health_text = "[dim]never run[/]"
            if h["error"]:
                health_text = f"[red]broken: {escape(h['error'])}[/]"
            since = "" if h["hours_since_success"] is None else f"{h['hours_since_success']:.1f} h"
            cells.append(
                [
                    h["lab"],
                    health_text,
                    f"{utc_text(h['last_run'])} {h['last_status'] or ''}".strip(),
                    utc_text(h["last_success"]),
                    str(h["failures_in_a_row"]),
                    since,
                    ", ".join(h["open_incidents"]),
                ]
            )
        columns = ["lab", "health", "last run", "last success", "fails in a row", "since success", "incidents"]
        print_rows(fmt, "lab health", columns, cells)
        for d in deliveries:
            console.print(f"alert {escape(d.alert.subject)} → {escape(d.route)}: {'sent' if d.ok else escape(d.error)}")
    raise typer.Exit(0 if all(h["healthy"] or (h["last_run"] is None and not h["error"]) for h in out) else 1)
