"""``buildcpg schedule`` when no lab has a schedule: it says so and how to add one."""

from __future__ import annotations

from pathlib import Path

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
