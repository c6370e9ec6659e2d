"""The embedded history's versioned schema: a file from before versions is brought up to date in place."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from buildcpg_shared.history import History
from buildcpg_shared.run_record import LabRunRecord, Status, StepRecord
from buildcpg_shared.state_db import SCHEMA_VERSION

BEFORE_VERSIONS = """
create table runs (run_id text primary key, command text not null, started_at text not null, finished_at text,
    status text not null default 'running', labs integer not null default 0, passed integer, failed integer,
    duration_s real);
create table lab_runs (id integer primary key autoincrement, run_id text not null references runs(run_id),
    lab text not null, lab_run_id text, started_at text not null, finished_at text not null, status text not null,
    error text not null default '', duration_s real not null, rows integer, quality real, log text,
    inputs text not null default '{}');
create table step_runs (lab_run integer not null references lab_runs(id), name text not null,
    status text not null, duration_s real not null, rows integer, detail text not null default '');
create table incidents (id integer primary key autoincrement, lab text not null, kind text not null,
    opened_at text not null, closed_at text, message text not null, detail text not null default '{}');
insert into runs(run_id, command, started_at) values ('r1', 'buildcpg run', '2026-01-01T00:00:00+00:00');
insert into lab_runs(run_id, lab, started_at, finished_at, status, duration_s)
    values ('r1', 'lab1_x', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:05+00:00', 'failed', 5.0);
insert into step_runs(lab_run, name, status, duration_s) values (1, 'check', 'ok', 1.0), (1, 'load', 'failed', 2.0);
insert into incidents(lab, kind, opened_at, message) values ('lab1_x', 'failed', '2026-01-01', 'a'),
    ('lab1_x', 'failed', '2026-01-02', 'b');
"""


def _old_file(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.executescript(BEFORE_VERSIONS)
    con.close()
    return path


def test_a_file_from_before_versions_is_migrated_in_place(tmp_path: Path) -> None:
    history = History(_old_file(tmp_path / "history.sqlite"))
    (row,) = history.lab_runs()
    assert (row.lab, row.status) == ("lab1_x", "failed")
    assert [s.name for s in row.steps] == ["check", "load"]  # the old rows keep their order
    # two open incidents of one kind (possible before the unique index): the newest stays open
    assert [(i["message"], i["closed_at"] is None) for i in history.incidents("lab1_x")] == [("a", False), ("b", True)]
    assert history.close_incident("lab1_x", "failed") == "2026-01-02"
    assert history.unfinished_runs() == []  # r1 never finished, but an old row names no labs: never "died"
    history.lab_started("r1", "lab1_x")  # lab_starts (v6) exists
    assert history.unfinished_runs() == []
    con = sqlite3.connect(tmp_path / "history.sqlite")
    assert con.execute("select version from schema_version").fetchall() == [(SCHEMA_VERSION,)]
    assert con.execute("pragma journal_mode").fetchone() == ("wal",)  # several processes write at once
    con.close()
    # new rows: steps kept in their order, one open incident per lab and kind
    at = "2026-02-01T00:00:00+00:00"
    steps = tuple(StepRecord(n, Status.OK) for n in ("publish", "check", "load"))  # order as given, not by name
    history.record_lab(history.start_run("t", 1), LabRunRecord("lab1_x", Status.OK, at, at, 1.0, steps=steps))
    assert [s.name for s in history.last_record("lab1_x").steps] == ["publish", "check", "load"]  # type: ignore[union-attr]
    assert history.open_incident("lab1_x", "quality", "q") and not history.open_incident("lab1_x", "quality", "q")


MIGRATE = """
import sys
from pathlib import Path
from buildcpg_shared.history import History
History(Path(sys.argv[1])).start_run("x", 1)
"""


def test_processes_migrating_one_old_file_at_once_all_succeed(tmp_path: Path) -> None:
    db = _old_file(tmp_path / "history.sqlite")
    procs = [
        subprocess.Popen([sys.executable, "-c", MIGRATE, str(db)], stderr=subprocess.PIPE, text=True) for _ in range(6)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
    history = History(db)
    assert len(history.runs(last=100)) == 7
    assert [c.name for c in history.lab_runs()[0].steps] == ["check", "load"]
