"""Run history at the workspace root: ``.buildcpg/history.sqlite`` (stdlib sqlite3, WAL mode).

Written through the run service (``orchestrate.service``) only: by the lab process itself at the end
of its run, or by the process that started it when the lab could not (killed, timed out, never
started). Several processes may write at once: WAL plus a busy timeout serialise them.
Query it with any SQLite client: ``sqlite3 .buildcpg/history.sqlite 'select * from lab_runs'``.

Tables: ``runs`` (one platform run), ``lab_runs`` (one lab in a run), ``step_runs`` (one step of a
lab run), ``incidents`` (open and closed alert incidents per lab and kind).
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from buildcpg_shared.run_record import LabRunRecord, Status, StepRecord

SCHEMA = """
create table if not exists runs (
    run_id text primary key, command text not null, started_at text not null, finished_at text,
    status text not null default 'running', labs integer not null default 0, passed integer, failed integer,
    duration_s real
);
create table if not exists lab_runs (
    id integer primary key autoincrement, run_id text not null references runs(run_id), lab text not null,
    lab_run_id text, started_at text not null, finished_at text not null, status text not null,
    error text not null default '', duration_s real not null, rows integer, quality real, log text,
    inputs text not null default '{}'
);
create index if not exists lab_runs_lab on lab_runs(lab, started_at);
create table if not exists step_runs (
    lab_run integer not null references lab_runs(id), name text not null, status text not null,
    duration_s real not null, rows integer, detail text not null default ''
);
create table if not exists incidents (
    id integer primary key autoincrement, lab text not null, kind text not null, opened_at text not null,
    closed_at text, message text not null, detail text not null default '{}'
);
create index if not exists incidents_open on incidents(lab, kind, closed_at);
"""


def _set_wal(con: sqlite3.Connection, wait_s: float = 30.0) -> None:
    """Switch the file to WAL. Several processes creating the history at once can see "database is
    locked" here: SQLite does not apply the busy timeout to this pragma, so it is retried."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            con.execute("pragma journal_mode=wal")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class LabHealth:
    """Health of one lab from its history."""

    lab: str
    last_run: str | None
    last_status: str | None
    last_success: str | None
    failures_in_a_row: int
    open_incidents: tuple[str, ...]
    last_error: str = ""  # why the last run failed or was skipped

    def hours_since_success(self, now: datetime | None = None) -> float | None:
        if not self.last_success:
            return None
        return ((now or datetime.now(UTC)) - datetime.fromisoformat(self.last_success)).total_seconds() / 3600


class History:
    """The history database; every method opens a short transaction of its own."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30)
        try:
            con.execute("pragma busy_timeout=30000")
            _set_wal(con)  # persistent: readers never block the writer
            con.executescript(SCHEMA)
            columns = {r[1] for r in con.execute("pragma table_info(lab_runs)")}
            if "inputs" not in columns:  # a history from before inputs (lab.yaml `inputs`)
                try:
                    con.execute("alter table lab_runs add column inputs text not null default '{}'")
                except sqlite3.OperationalError as err:  # another process added it just now
                    if "duplicate column" not in str(err):
                        raise
        finally:
            con.close()

    @classmethod
    def for_state_dir(cls, state_dir: Path) -> History:
        return cls(state_dir / "history.sqlite")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.row_factory = sqlite3.Row
            con.execute("pragma busy_timeout=30000")
            con.execute("begin immediate")
            try:
                yield con
            except BaseException:
                con.execute("rollback")
                raise
            con.execute("commit")
        finally:
            con.close()

    # -- writing ---------------------------------------------------------------------------
    def start_run(self, command: str, labs: int, started_at: str | None = None) -> str:
        run_id = uuid.uuid4().hex[:12]
        with self._connect() as con:
            con.execute(
                "insert into runs(run_id, command, started_at, labs) values (?, ?, ?, ?)",
                (run_id, command, started_at or now_iso(), labs),
            )
        return run_id

    def record_lab(self, run_id: str, record: LabRunRecord) -> None:
        with self._connect() as con:
            cur = con.execute(
                "insert into lab_runs(run_id, lab, lab_run_id, started_at, finished_at, status, error, duration_s,"
                " rows, quality, log, inputs) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    record.lab,
                    record.lab_run_id,
                    record.started_at,
                    record.finished_at,
                    str(record.status),
                    record.error,
                    record.duration_s,
                    record.rows,
                    record.quality,
                    record.log,
                    json.dumps(record.inputs, sort_keys=True),
                ),
            )
            con.executemany(
                "insert into step_runs(lab_run, name, status, duration_s, rows, detail) values (?, ?, ?, ?, ?, ?)",
                [(cur.lastrowid, s.name, str(s.status), s.duration_s, s.rows, s.detail) for s in record.steps],
            )

    def finish_run(self, run_id: str, passed: int, failed: int, duration_s: float) -> None:
        with self._connect() as con:
            con.execute(
                "update runs set finished_at = ?, status = ?, passed = ?, failed = ?, duration_s = ? where run_id = ?",
                (now_iso(), "failed" if failed else "ok", passed, failed, round(duration_s, 3), run_id),
            )

    # -- incidents ---------------------------------------------------------------------------
    def open_incident(self, lab: str, kind: str, message: str, detail: dict[str, Any] | None = None) -> bool:
        """Open an incident; False if one of this lab and kind is already open (no new alert)."""
        with self._connect() as con:
            row = con.execute(
                "select id from incidents where lab = ? and kind = ? and closed_at is null", (lab, kind)
            ).fetchone()
            if row:
                return False
            con.execute(
                "insert into incidents(lab, kind, opened_at, message, detail) values (?, ?, ?, ?, ?)",
                (lab, kind, now_iso(), message, json.dumps(detail or {}, default=str)),
            )
            return True

    def close_incident(self, lab: str, kind: str) -> str | None:
        """Close the open incident of this lab and kind; returns when it opened, or None if none was open."""
        with self._connect() as con:
            row = con.execute(
                "select id, opened_at from incidents where lab = ? and kind = ? and closed_at is null", (lab, kind)
            ).fetchone()
            if not row:
                return None
            con.execute("update incidents set closed_at = ? where id = ?", (now_iso(), row["id"]))
            return str(row["opened_at"])

    def incidents(self, lab: str | None = None, *, open_only: bool = False) -> list[dict[str, Any]]:
        sql = "select * from incidents where (? is null or lab = ?)" + (" and closed_at is null" if open_only else "")
        with self._connect() as con:
            return [dict(r) for r in con.execute(sql + " order by id", (lab, lab)).fetchall()]

    # -- reading -----------------------------------------------------------------------------
    def lab_runs(self, lab: str | None = None, last: int = 20) -> list[dict[str, Any]]:
        """The latest lab runs (newest first), each with its steps."""
        with self._connect() as con:
            rows = con.execute(
                "select * from lab_runs where (? is null or lab = ?) order by id desc limit ?", (lab, lab, last)
            ).fetchall()
            out = []
            for row in rows:
                entry = dict(row)
                entry["inputs"] = json.loads(entry.get("inputs") or "{}")
                entry["steps"] = [
                    dict(s)
                    for s in con.execute(
                        "select name, status, duration_s, rows, detail from step_runs where lab_run = ? order by rowid",
                        (row["id"],),
                    )
                ]
                out.append(entry)
            return out

    def last_record(self, lab: str) -> LabRunRecord | None:
        """The lab's latest recorded run that was not refused as busy, typed, with its steps (or None)."""
        with self._connect() as con:
            row = con.execute(
                "select * from lab_runs where lab = ? and status != 'busy' order by id desc limit 1", (lab,)
            ).fetchone()
            if row is None:
                return None
            steps = con.execute(
                "select name, status, duration_s, rows, detail from step_runs where lab_run = ? order by rowid",
                (row["id"],),
            ).fetchall()
        return LabRunRecord(
            lab=row["lab"],
            status=Status(row["status"]),
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            duration_s=row["duration_s"],
            error=row["error"],
            lab_run_id=row["lab_run_id"] or "",
            rows=row["rows"],
            quality=row["quality"],
            log=row["log"] or "",
            steps=tuple(StepRecord.from_dict(dict(s)) for s in steps),
            inputs=json.loads(row["inputs"] or "{}"),
        )

    def runs(self, last: int = 20) -> list[dict[str, Any]]:
        with self._connect() as con:
            return [dict(r) for r in con.execute("select * from runs order by rowid desc limit ?", (last,))]

    def last_run(self, lab: str) -> dict[str, Any] | None:
        """The lab's latest recorded run that was not refused as busy (without its steps), or None."""
        with self._connect() as con:
            row = con.execute(
                "select * from lab_runs where lab = ? and status != 'busy' order by id desc limit 1", (lab,)
            ).fetchone()
            return dict(row) if row else None

    def last_started(self, lab: str) -> str | None:
        """When the lab's latest recorded run started (busy and skipped runs excluded: never ran), or None."""
        with self._connect() as con:
            row = con.execute(
                "select max(started_at) from lab_runs where lab = ? and status not in ('busy', 'skipped')", (lab,)
            ).fetchone()
            return row[0] if row else None

    def health(self, lab: str) -> LabHealth:
        with self._connect() as con:
            rows = con.execute(
                "select status, started_at, finished_at, error from lab_runs where lab = ? and status != 'busy'"
                " order by id desc limit 200",
                (lab,),
            ).fetchall()
            success = con.execute(
                "select max(finished_at) from lab_runs where lab = ? and status in ('ok', 'warn')", (lab,)
            ).fetchone()[0]
            kinds = [
                r[0]
                for r in con.execute(
                    "select kind from incidents where lab = ? and closed_at is null order by id", (lab,)
                )
            ]
        streak = 0
        for row in rows:
            if row["status"] != "failed":
                break
            streak += 1
        return LabHealth(
            lab=lab,
            last_run=rows[0]["finished_at"] if rows else None,
            last_status=rows[0]["status"] if rows else None,
            last_success=success,
            failures_in_a_row=streak,
            open_incidents=tuple(kinds),
            last_error=rows[0]["error"] if rows else "",
        )
