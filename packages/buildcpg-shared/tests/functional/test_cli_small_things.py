"""Small things a user notices: ``schedule`` with no scheduled lab says how to add one; CLI times."""

from __future__ import annotations

import json
from pathlib import Path

from buildcpg_shared.history import History, LabRunRecord
from buildcpg_shared.testing import run_cli


def test_schedule_without_scheduled_labs_says_how_to_add_one(tiny_lab: Path) -> None:
    root = tiny_lab.parents[1]
    result = run_cli(root, "schedule")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # nothing to paste into a crontab
    assert "no lab has a schedule" in result.stderr and 'schedule: "0 6 * * *"' in result.stderr, result.stderr
    # with a schedule the message is gone and the line is there
    lab_yaml = tiny_lab / "lab.yaml"
    lab_yaml.write_text(lab_yaml.read_text() + 'schedule: "0 6 * * *"\n')
    scheduled = run_cli(root, "schedule")
    assert "no lab has a schedule" not in scheduled.stderr and "0 6 * * * cd " in scheduled.stdout


def test_cli_times_are_seconds_in_utc(tiny_lab: Path) -> None:
    """runs, status and labs show one time form: seconds, no microseconds, converted to UTC."""
    root = tiny_lab.parents[1]
    history = History.for_state_dir(root / ".buildcpg")
    run = history.start_run("t", 1)
    started, finished = "2026-01-02T01:02:03.456789+01:00", "2026-01-02T01:03:04.5+01:00"
    history.record_lab(run, LabRunRecord("lab9_tiny", "ok", started, finished, 61.04))
    runs = run_cli(root, "runs").stdout
    assert "2026-01-02 00:02:03 UTC" in runs and ".456789" not in runs and "T01:02" not in runs
    status = run_cli(root, "status").stdout
    assert "2026-01-02 00:03:04 UTC" in status and "+01:00" not in status
    labs = run_cli(root, "labs").stdout
    assert "ok at 2026-01-02 00:03:04 UTC" in labs and "(61.0s)" in labs


def test_tabular_commands_take_one_format_option_and_labs_one_selection(tiny_lab: Path) -> None:
    root = tiny_lab.parents[1]
    history = History.for_state_dir(root / ".buildcpg")
    run = history.start_run("t", 1)
    history.record_lab(
        run, LabRunRecord("lab9_tiny", "ok", "2026-01-02T00:00:00+00:00", "2026-01-02T00:00:05+00:00", 5)
    )
    for command in ("labs", "runs", "status"):
        markdown = run_cli(root, command, "--format", "markdown")
        assert markdown.returncode == 0, markdown.stderr
        assert "| lab" in markdown.stdout or "| started | lab |" in markdown.stdout, markdown.stdout
        assert "lab9_tiny" in markdown.stdout and "┃" not in markdown.stdout
        as_json, old_flag = (
            json.loads(run_cli(root, command, *flags).stdout) for flags in (["-f", "json"], ["--json"])
        )
        for row in (*as_json, *old_flag):  # the clock moves between the two calls (0.01 h = 36 s)
            row.pop("hours_since_success", None)
        assert as_json == old_flag  # the old flag still works
        bad = run_cli(root, command, "--format", "xml")
        assert bad.returncode == 2 and "--format must be one of table, json, markdown" in bad.stderr
    assert run_cli(root, "check", "--all").returncode in (0, 1)
    both = run_cli(root, "check", "--all", "lab9_tiny")
    assert both.returncode == 2 and "give lab names or --all, not both" in both.stderr
