"""The ``buildcpg`` application: one module per command, registered here."""

from __future__ import annotations

import sys

import typer

from buildcpg_shared.cli import (
    check,
    doctor,
    inspect_lab,
    labs,
    new_lab,
    pull,
    quality,
    report,
    run,
    runs,
    schedule,
    status,
    sync,
    watch,
)
from buildcpg_shared.errors import BuildCPGError

app = typer.Typer(
    help="BuildCPG Labs: run many independent dbt + DuckDB labs side by side, each in its own venv.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("labs")(labs.labs_command)
app.command("sync")(sync.sync_command)
app.command("run")(run.run_command)
app.command("doctor")(doctor.doctor_command)
app.command("check")(check.check_command)
app.command("watch")(watch.watch_command)
app.command("inspect")(inspect_lab.inspect_command)
app.command("quality")(quality.quality_command)
app.command("report")(report.report_command)
app.command("pull")(pull.pull_command)
app.command("new-lab")(new_lab.new_lab_command)
app.command("upgrade-lab")(new_lab.upgrade_lab_command)
app.command("remove-lab")(new_lab.remove_lab_command)
app.command("runs")(runs.runs_command)
app.command("status")(status.status_command)
app.command("schedule")(schedule.schedule_command)


def main() -> None:
    """Entry point: errors this project raises on purpose print one line, exit code 2."""
    try:
        app()
    except BuildCPGError as err:
        print(f"buildcpg: error: {err}", file=sys.stderr)
        sys.exit(2)
