"""Run history (SQLite, several writer processes at once), health, schedules and crontab lines."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from buildcpg_shared.config.alerts import validate_cron
from buildcpg_shared.history import History, LabRunRecord
from buildcpg_shared.orchestrate.parallel import LabProgress
from buildcpg_shared.orchestrate.schedule import crontab_block, is_due, merge_crontab
from buildcpg_shared.registry import Workspace
from buildcpg_shared.run_record import Status, StepRecord
from buildcpg_shared.testing import run_cli

WRITER = """
import sys
from pathlib import Path
from buildcpg_shared.history import History, LabRunRecord
h = History(Path(sys.argv[1]))
for i in range(30):
    run = h.start_run("writer " + sys.argv[2], 1)
    h.record_lab(run, LabRunRecord("lab" + sys.argv[2] + "_x", "ok", "2026-01-01T00:00:00+00:00",
                 "2026-01-01T00:00:01+00:00", 1.0, steps=({"name": "check", "status": "ok", "duration_s": 0.1},)))
    h.finish_run(run, 1, 0, 1.0)
"""


def test_several_processes_write_at_once(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(n)]) for n in range(4)]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0, 0]
    history = History(db)
    assert len(history.runs(last=1000)) == 120
    runs = history.lab_runs(last=1000)
    assert len(runs) == 120 and all(len(r.steps) == 1 for r in runs)
    assert {r.lab for r in runs} == {"lab0_x", "lab1_x", "lab2_x", "lab3_x"}


def test_health_counts_failures_in_a_row_and_ignores_busy(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite")
    run = history.start_run("t", 1)
    for i, status in enumerate(("ok", "failed", "busy", "failed", "failed")):
        at = f"2026-01-0{i + 1}T00:00:00+00:00"
        history.record_lab(run, LabRunRecord("lab1_a", status, at, at, 1.0, error="e"))
    health = history.health("lab1_a")
    assert health.failures_in_a_row == 3
    assert health.last_success == "2026-01-01T00:00:00+00:00"
    assert health.last_status == "failed"
    assert history.last_started("lab1_a") == "2026-01-05T00:00:00+00:00"


def test_cron_validation() -> None:
    assert validate_cron("0  6 * * 1-5") == "0 6 * * 1-5"
    for bad in ("every day", "61 * * * *", "* * * *"):
        with pytest.raises(ValueError, match="5-field cron"):
            validate_cron(bad)


def _scheduled(tiny_lab: Path, cron: str) -> Workspace:
    yaml = tiny_lab / "lab.yaml"
    yaml.write_text(yaml.read_text() + f'schedule: "{cron}"\n')
    return Workspace(tiny_lab.parents[1])


def test_due_since_the_last_run(tiny_lab: Path, tmp_path: Path) -> None:
    workspace = _scheduled(tiny_lab, "0 6 * * *")
    lab = workspace.lab("lab9_tiny")
    history = History(tmp_path / "h.sqlite")
    assert is_due(lab, history)  # never ran
    at = "2026-03-01T07:00:00+00:00"
    history.record_lab(history.start_run("t", 1), LabRunRecord("lab9_tiny", "ok", at, at, 1.0))
    assert not is_due(lab, history, datetime(2026, 3, 2, 5, 59, tzinfo=UTC))
    assert is_due(lab, history, datetime(2026, 3, 2, 6, 0, tzinfo=UTC))


def test_crontab_install_replaces_only_our_block(tiny_lab: Path, tmp_path: Path) -> None:
    workspace = _scheduled(tiny_lab, "*/15 * * * *")
    block = crontab_block(workspace, "/opt/bin/buildcpg")
    assert f"*/15 * * * * cd {workspace.root} && /opt/bin/buildcpg run lab9_tiny >> " in block
    theirs = "MAILTO=ops\n5 4 * * * /usr/bin/backup\n"
    once = merge_crontab(theirs, block, workspace.root)
    twice = merge_crontab(once, block, workspace.root)
    assert once == twice and once.startswith(theirs) and once.count("lab9_tiny") == 1


def test_schedule_cli_installs_into_a_crontab_file_and_due_dry_run(tiny_lab: Path, tmp_path: Path) -> None:
    workspace = _scheduled(tiny_lab, "0 6 * * *")
    crontab = tmp_path / "crontab"
    crontab.write_text("5 4 * * * /usr/bin/backup\n")
    for _ in range(2):
        result = run_cli(workspace.root, "schedule", "--install", "--crontab-file", str(crontab))
        assert result.returncode == 0, result.stderr
    text = crontab.read_text()
    assert text.startswith("5 4 * * * /usr/bin/backup\n") and text.count(" run lab9_tiny ") == 1
    assert f"# BEGIN buildcpg {workspace.root}" in text
    printed = run_cli(workspace.root, "schedule", "--systemd").stdout
    assert "OnCalendar=*:0/5" in printed and "run --due" in printed
    due = run_cli(workspace.root, "run", "--due", "--dry-run", "--no-sync")
    assert due.returncode == 0, due.stderr
    assert "1 lab(s) would run" in due.stdout and "lab9_tiny" in due.stdout and "orders_1.csv" in due.stdout
    assert run_cli(workspace.root, "runs", "--json").stdout.strip() == "[]"  # a dry run records nothing


def test_progress_reads_the_quality_score_of_inspect() -> None:
    progress = LabProgress("lab1_a", state=Status.WARN)
    assert progress.quality is None
    progress.steps["inspect"] = StepRecord("inspect", Status.OK, 0.1, data={"quality": {"score": 72.5}})
    assert progress.quality == 72.5 and progress.record().quality == 72.5 and progress.record().status == "warn"


def test_a_history_from_before_inputs_gains_the_column(tmp_path: Path) -> None:
    """A history file written before lab.yaml `inputs` existed is migrated in place, rows kept."""
    import sqlite3

    from buildcpg_shared.history import History

    db = tmp_path / "history.sqlite"
    old = sqlite3.connect(db)
    old.executescript(
        "create table runs (run_id text primary key, command text not null, started_at text not null);"
        "create table lab_runs (id integer primary key autoincrement, run_id text not null, lab text not null,"
        " lab_run_id text, started_at text not null, finished_at text not null, status text not null,"
        " error text not null default '', duration_s real not null, rows integer, quality real, log text);"
        "insert into lab_runs(run_id, lab, started_at, finished_at, status, duration_s)"
        " values ('r', 'lab1_x', '2026-01-01', '2026-01-01', 'ok', 1.0);"
    )
    old.close()
    (row,) = History(db).lab_runs()
    assert row.lab == "lab1_x" and row.inputs == {}
