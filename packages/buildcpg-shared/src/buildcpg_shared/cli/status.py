"""``buildcpg status``: health of every lab from the run history (last success, failures in a row, staleness)."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.markup import escape

from buildcpg_shared.alerts import AlertDispatcher
from buildcpg_shared.cli.common import console, lab_title
from buildcpg_shared.cli.params import format_option, json_alias, output_format, print_rows
from buildcpg_shared.history import LabHealth, history_for
from buildcpg_shared.registry import Workspace
from buildcpg_shared.report.timefmt import utc_text
from buildcpg_shared.run_record import Status
from buildcpg_shared.serving.version import published_version


def status_command(
    alert: bool = typer.Option(False, "--alert", help="also open incidents for stale labs and dead runs, and alert"),
    fmt: str = format_option(),
    as_json: bool = json_alias(),
) -> None:
    """Health per lab: last run, last success, failures in a row, hours since success, open incidents,
    and the published version BI tools read (with its age).

    A lab is healthy only when its last run passed without warnings; warn (passed with warnings) is
    shown as warn. A later run that never recorded an end is shown: running, or died (its run's
    process is gone: killed with the lab). Exits 1 when any lab's last run failed, died or was skipped
    (an upstream lab did not pass), is stale or has an open incident, or its lab.yaml is broken (shown
    with the one-line reason; the other labs are still shown); 0 otherwise.
    """
    fmt = output_format(fmt, as_json)
    workspace = Workspace.find()
    history = history_for(workspace)
    dispatcher = AlertDispatcher(workspace, history)
    deliveries = []
    out = []
    for lab in workspace.labs():
        health = history.health(lab.name)
        if alert:
            deliveries += [*dispatcher.check_stale(lab, health), *dispatcher.check_died(lab, health)]
            health = history.health(lab.name)  # with the incidents just opened
        hours = health.hours_since_success()
        limit = dispatcher.stale_after_hours(lab)
        stale = limit is not None and health.last_run is not None and (hours is None or hours > limit)
        _, error = lab_title(lab, workspace)  # a broken lab.yaml: shown as broken, the other labs still shown
        published = published_version(lab.paths.serving_file)
        state = health_state(health, stale=stale, broken=bool(error))
        unfinished = health.unfinished
        out.append(
            {
                **asdict(health),
                "unfinished": None
                if unfinished is None
                else {**asdict(unfinished), "state": unfinished.state, "text": unfinished.describe()},
                "open_incidents": list(health.open_incidents),
                "hours_since_success": None if hours is None else round(hours, 2),
                "stale_after_hours": limit,
                "stale": stale,
                "schedule": None if error else lab.config.schedule,
                "error": error,
                "state": state,
                "healthy": state == "healthy",
                "published": None if published is None else {**asdict(published), "rows": published.rows},
                "published_text": "nothing published" if published is None else published.describe(),
            }
        )
    if fmt == "json":
        print(json.dumps(out, indent=2))
    else:
        cells = []
        for h in out:
            style = _STYLE[h["state"]]
            health_text = f"[{style}]{h['state']}[/]"
            if h["error"]:
                health_text = f"[red]broken: {escape(h['error'])}[/]"
            elif h["state"] in ("failed", "skipped") and h["last_error"]:
                health_text += f": {escape(h['last_error'][:160])}"
            last_run = f"{utc_text(h['last_run'])} {h['last_status'] or ''}".strip()
            if h["unfinished"]:  # a later attempt without an end: its start and what became of it
                last_run = f"{utc_text(h['unfinished']['started_at'])} {h['unfinished']['state']}"
                if h["state"] == "died":
                    health_text += f": {escape(h['unfinished']['text'])}"
            since = "" if h["hours_since_success"] is None else f"{h['hours_since_success']:.1f} h"
            cells.append(
                [
                    h["lab"],
                    health_text,
                    last_run,
                    utc_text(h["last_success"]),
                    str(h["failures_in_a_row"]),
                    since,
                    ", ".join(h["open_incidents"]),
                    h["published_text"],
                ]
            )
        columns = ["lab", "health", "last run", "last success", "fails in a row", "since success", "incidents"]
        columns.append("BI reads")
        print_rows(fmt, "lab health", columns, cells)
        for d in deliveries:
            console.print(f"alert {escape(d.alert.subject)} → {escape(d.route)}: {'sent' if d.ok else escape(d.error)}")
    raise typer.Exit(0 if all(h["state"] in ("healthy", "warn", "never run") for h in out) else 1)


_STYLE = {
    "healthy": "green",
    "warn": "yellow",
    "never run": "dim",
    "stale": "yellow",
    "skipped": "yellow",
    "failed": "red",
    "died": "red",
    "incident": "red",
    "broken": "red",
}


def health_state(health: LabHealth, *, stale: bool, broken: bool) -> str:
    """One word for a lab's health, the worst that holds: broken, died (the latest attempt was killed
    before it recorded an end), failed, skipped (an upstream did not pass), incident, stale, warn (the
    last run passed with warnings), never run, healthy."""
    if broken:
        return "broken"
    if health.unfinished is not None and health.unfinished.state == "died":
        return "died"
    if health.last_status is None:
        return "never run"
    if health.last_status == Status.FAILED:
        return "failed"
    if health.last_status == Status.SKIPPED:
        return "skipped"
    if health.open_incidents:
        return "incident"
    if stale:
        return "stale"
    return "warn" if health.last_status == Status.WARN else "healthy"
