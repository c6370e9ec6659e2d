"""Run history and incidents behind one interface: ``.buildcpg/history.sqlite`` or PostgreSQL.

Embedded (the default) it is a SQLite file at the workspace root (WAL plus a busy timeout: several
processes write at once); with ``shared: state`` (or ``BUILDCPG_STATE``) it is that PostgreSQL
database, so every machine sees every machine's runs. ``history_for(workspace)`` picks the one in
force; the schema and its migrations are ``state_db.schema`` (SQLAlchemy Core, one definition).

Written through the run service (``orchestrate.service``) only: by the lab process itself at the end
of its run, or by the process that started it when the lab could not (killed, timed out, never
started). Query the embedded one with any SQLite client: ``sqlite3 .buildcpg/history.sqlite 'select *
from lab_runs'``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, literal_column, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from buildcpg_shared.history.health import LabHealth, UnfinishedRun, now_iso
from buildcpg_shared.history.run_alive import RunLockFile, run_lock_alive
from buildcpg_shared.run_record import LabRunRecord, Status, StepRecord
from buildcpg_shared.state_db import SCHEMA_VERSION, ensure_schema, postgres_engine, sqlite_engine, state_error
from buildcpg_shared.state_db.engine import prepare_sqlite
from buildcpg_shared.state_db.lease import RunAlive, lock_held, run_key
from buildcpg_shared.state_db.schema import incidents, lab_runs, lab_starts, runs, step_runs

# built once: a statement built per call costs more than SQLite's own insert (tools/bench/bench_history.py)
_INSERT_LAB_RUN = lab_runs.insert()
_INSERT_STEP = step_runs.insert()
_STEP_COLUMNS = (step_runs.c.name, step_runs.c.status, step_runs.c.duration_s, step_runs.c.rows, step_runs.c.detail)


class History:
    """The history database; every method is one short transaction of its own.

    ``History(path)`` is the embedded SQLite file; ``History.for_url(url)`` a PostgreSQL one. Errors of
    a PostgreSQL history are one ``StateError`` line (password masked).
    """

    def __init__(self, path: Path | None = None, *, url: str | None = None) -> None:
        if (path is None) == (url is None):
            raise TypeError("History needs a SQLite path or a PostgreSQL url")
        self.path = path
        self.url = url
        self.where = str(path) if path is not None else str(url)
        self._engine: Engine = sqlite_engine(path) if path is not None else postgres_engine(str(url))
        if path is None or prepare_sqlite(path) < SCHEMA_VERSION:
            with self._errors():
                ensure_schema(self._engine)
        # insertion order: SQLite's rowid (files from before versions have nothing else); PostgreSQL's serials
        self._sqlite = self._engine.dialect.name == "sqlite"

    @classmethod
    def for_state_dir(cls, state_dir: Path) -> History:
        """The embedded history: ``<state_dir>/history.sqlite``."""
        return cls(state_dir / "history.sqlite")

    @classmethod
    def for_url(cls, url: str) -> History:
        """The shared history in the PostgreSQL database at ``url``."""
        return cls(url=url)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """A PostgreSQL fault as one ``StateError`` line; SQLite's errors stay as they were."""
        try:
            yield
        except SQLAlchemyError as err:
            if self.url is None:
                orig = getattr(err, "orig", None)
                if isinstance(orig, Exception):
                    raise orig from None  # sqlite3.Error, as the stdlib history raised
                raise
            raise state_error(self.url, err) from None

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        with self._errors(), self._engine.begin() as con:
            yield con

    # -- writing ---------------------------------------------------------------------------
    def start_run(self, command: str, labs: int, started_at: str | None = None, lab_names: Sequence[str] = ()) -> str:
        """A new ``runs`` row of this process (host, pid) for ``lab_names``; returns its id."""
        run_id = uuid.uuid4().hex[:12]
        with self._connect() as con:
            con.execute(
                runs.insert().values(
                    run_id=run_id,
                    command=command,
                    started_at=started_at or now_iso(),
                    labs=labs,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    lab_names=json.dumps(list(lab_names)),
                )
            )
        return run_id

    def hold_run(self, run_id: str) -> contextlib.AbstractContextManager[object]:
        """While entered, this process says its run is alive: to every machine with shared state (the
        run's advisory lock), embedded with a locked file beside the history (``history/run_alive.py``)."""
        if self.path is None:
            return RunAlive(str(self.url), run_id)
        return RunLockFile(self._run_locks, run_id)

    @property
    def _run_locks(self) -> Path:
        """The embedded runs' liveness lock files: ``.buildcpg/runs/`` beside ``history.sqlite``."""
        assert self.path is not None, "embedded histories only"
        return self.path.parent / "runs"

    def lab_started(self, run_id: str, lab: str, started_at: str | None = None) -> None:
        """The platform run ``run_id`` has started ``lab`` (until then an unrecorded lab reads ``queued``)."""
        with self._errors(), contextlib.suppress(IntegrityError), self._engine.begin() as con:  # twice: first stands
            con.execute(lab_starts.insert().values(run_id=run_id, lab=lab, started_at=started_at or now_iso()))

    def record_lab(self, run_id: str, record: LabRunRecord) -> None:
        with self._connect() as con:
            result = con.execute(
                _INSERT_LAB_RUN,
                {
                    "run_id": run_id,
                    "lab": record.lab,
                    "lab_run_id": record.lab_run_id,
                    "started_at": record.started_at,
                    "finished_at": record.finished_at,
                    "status": str(record.status),
                    "error": record.error,
                    "duration_s": record.duration_s,
                    "rows": record.rows,
                    "quality": record.quality,
                    "log": record.log,
                    "inputs": json.dumps(record.inputs, sort_keys=True),
                },
            )
            lab_run = result.inserted_primary_key[0]  # type: ignore[index]
            if record.steps:
                con.execute(
                    _INSERT_STEP,
                    [
                        {
                            "lab_run": lab_run,
                            "seq": i,
                            "name": s.name,
                            "status": str(s.status),
                            "duration_s": s.duration_s,
                            "rows": s.rows,
                            "detail": s.detail,
                        }
                        for i, s in enumerate(record.steps)
                    ],
                )

    def finish_run(self, run_id: str, passed: int, failed: int, duration_s: float) -> None:
        with self._connect() as con:
            con.execute(
                update(runs)
                .where(runs.c.run_id == run_id)
                .values(
                    finished_at=now_iso(),
                    status="failed" if failed else "ok",
                    passed=passed,
                    failed=failed,
                    duration_s=round(duration_s, 3),
                )
            )

    # -- incidents ---------------------------------------------------------------------------
    def open_incident(self, lab: str, kind: str, message: str, detail: dict[str, Any] | None = None) -> bool:
        """Open an incident; False if one of this lab and kind is already open (no new alert).

        Two processes racing: the unique partial index ``incidents_one_open`` lets one insert win.
        """
        is_open = (incidents.c.lab == lab, incidents.c.kind == kind, incidents.c.closed_at.is_(None))
        with self._errors():
            try:
                with self._engine.begin() as con:
                    if con.execute(select(incidents.c.id).where(*is_open)).first():
                        return False
                    con.execute(
                        incidents.insert().values(
                            lab=lab,
                            kind=kind,
                            opened_at=now_iso(),
                            message=message,
                            detail=json.dumps(detail or {}, default=str),
                        )
                    )
            except IntegrityError:  # another process opened it between our look and our insert
                return False
        return True

    def close_incident(self, lab: str, kind: str) -> str | None:
        """Close the open incident of this lab and kind; returns when it opened, or None if none was open.

        Two processes racing: only the one whose update still finds it open closes it (and alerts).
        """
        with self._connect() as con:
            row = con.execute(
                select(incidents.c.id, incidents.c.opened_at).where(
                    incidents.c.lab == lab, incidents.c.kind == kind, incidents.c.closed_at.is_(None)
                )
            ).first()
            if row is None:
                return None
            closed = con.execute(
                update(incidents)
                .where(incidents.c.id == row.id, incidents.c.closed_at.is_(None))
                .values(closed_at=now_iso())
            )
            return str(row.opened_at) if closed.rowcount == 1 else None

    def incidents(self, lab: str | None = None, *, open_only: bool = False) -> list[dict[str, Any]]:
        query = select(incidents).order_by(incidents.c.id)
        if lab is not None:
            query = query.where(incidents.c.lab == lab)
        if open_only:
            query = query.where(incidents.c.closed_at.is_(None))
        with self._connect() as con:
            return [dict(r._mapping) for r in con.execute(query)]

    # -- reading -----------------------------------------------------------------------------
    def _steps(self, con: Connection, lab_run: int) -> list[dict[str, Any]]:
        order = [step_runs.c.seq, literal_column("rowid")] if self._sqlite else [step_runs.c.seq]
        query = select(*_STEP_COLUMNS).where(step_runs.c.lab_run == lab_run).order_by(*order)
        return [dict(s._mapping) for s in con.execute(query)]

    def lab_runs(self, lab: str | None = None, last: int = 20) -> list[LabRunRecord]:
        """The latest lab runs (newest first), typed, each with its steps."""
        query = select(lab_runs).order_by(lab_runs.c.id.desc()).limit(last)
        if lab is not None:
            query = query.where(lab_runs.c.lab == lab)
        with self._connect() as con:
            return [self._record(con, row) for row in con.execute(query).all()]

    def _record(self, con: Connection, row: Any) -> LabRunRecord:
        """A ``lab_runs`` row and its steps as the typed record every layer shares."""
        return LabRunRecord(
            lab=row.lab,
            status=Status(row.status),
            started_at=row.started_at,
            finished_at=row.finished_at,
            duration_s=row.duration_s,
            error=row.error,
            lab_run_id=row.lab_run_id or "",
            rows=row.rows,
            quality=row.quality,
            log=row.log or "",
            steps=tuple(StepRecord.from_dict(s) for s in self._steps(con, row.id)),
            inputs=json.loads(row.inputs or "{}"),
            run_id=row.run_id,
        )

    def _last_ran(self, con: Connection, lab: str) -> Any:
        query = select(lab_runs).where(lab_runs.c.lab == lab, lab_runs.c.status != "busy")
        return con.execute(query.order_by(lab_runs.c.id.desc()).limit(1)).first()

    def last_record(self, lab: str) -> LabRunRecord | None:
        """The lab's latest recorded run that was not refused as busy, typed, with its steps (or None)."""
        with self._connect() as con:
            row = self._last_ran(con, lab)
            return None if row is None else self._record(con, row)

    def runs(self, last: int = 20) -> list[dict[str, Any]]:
        order = [literal_column("rowid").desc()] if self._sqlite else [runs.c.started_at.desc(), runs.c.run_id.desc()]
        with self._connect() as con:
            return [dict(r._mapping) for r in con.execute(select(runs).order_by(*order).limit(last))]

    def unfinished_runs(self, lab: str | None = None, last: int = 20) -> list[UnfinishedRun]:
        """Labs that unfinished platform runs started and never recorded, newest first (the run is
        still going, or died with the lab: ``UnfinishedRun.state`` tells which on the run's host)."""
        query = (
            select(runs.c.run_id, runs.c.command, runs.c.started_at, runs.c.host, runs.c.pid, runs.c.lab_names)
            .where(runs.c.finished_at.is_(None), runs.c.lab_names != "[]")
            .order_by(runs.c.started_at.desc())
            .limit(200)
        )
        if lab is not None:  # a JSON list of names: the quoted name inside it
            query = query.where(runs.c.lab_names.contains(json.dumps(lab)))
        found: list[UnfinishedRun] = []
        with self._connect() as con:
            rows = con.execute(query).all()
            ids = [row.run_id for row in rows]
            recorded = set(con.execute(select(lab_runs.c.run_id, lab_runs.c.lab).where(lab_runs.c.run_id.in_(ids))))
            starts = {
                (r.run_id, r.lab): r.started_at
                for r in con.execute(select(lab_starts).where(lab_starts.c.run_id.in_(ids)))
            }
            for row in rows:
                missing = [n for n in json.loads(row.lab_names) if (row.run_id, n) not in recorded and lab in (None, n)]
                if not missing:
                    continue
                alive = self._run_alive(con, row.run_id, row.host)
                for name in missing:
                    at = starts.get((row.run_id, name))
                    run = (row.run_id, name, row.command, at or row.started_at, row.host, int(row.pid), alive)
                    found.append(UnfinishedRun(*run, started=at is not None))
                if len(found) >= last:
                    break
        return found[:last]

    def _run_alive(self, con: Connection, run_id: str, host: str) -> bool | None:
        """Does the run's process hold its liveness lock? None: cannot be asked here (embedded: a run of
        another host, or from before lock files): ``UnfinishedRun.state`` decides by host and pid."""
        if not self._sqlite:
            return lock_held(con, run_key(run_id))
        return run_lock_alive(self._run_locks, run_id) if host == socket.gethostname() else None

    def last_started(self, lab: str) -> str | None:
        """When the lab's latest recorded run started (busy and skipped runs excluded: never ran), or None."""
        query = select(func.max(lab_runs.c.started_at)).where(
            lab_runs.c.lab == lab, lab_runs.c.status.not_in(("busy", "skipped"))
        )
        with self._connect() as con:
            return con.execute(query).scalar()

    def health(self, lab: str) -> LabHealth:
        with self._connect() as con:
            rows = con.execute(
                select(lab_runs.c.status, lab_runs.c.started_at, lab_runs.c.finished_at, lab_runs.c.error)
                .where(lab_runs.c.lab == lab, lab_runs.c.status != "busy")
                .order_by(lab_runs.c.id.desc())
                .limit(200)
            ).all()
            success = con.execute(
                select(func.max(lab_runs.c.finished_at)).where(
                    lab_runs.c.lab == lab, lab_runs.c.status.in_(("ok", "warn"))
                )
            ).scalar()
            kinds = [
                r[0]
                for r in con.execute(
                    select(incidents.c.kind)
                    .where(incidents.c.lab == lab, incidents.c.closed_at.is_(None))
                    .order_by(incidents.c.id)
                )
            ]
        last_start = rows[0].started_at if rows else None
        later = [u for u in self.unfinished_runs(lab, last=1) if last_start is None or _after(u.started_at, last_start)]
        streak = 0
        for row in rows:
            if row.status != "failed":
                break
            streak += 1
        return LabHealth(
            lab=lab,
            last_run=rows[0].finished_at if rows else None,
            last_status=rows[0].status if rows else None,
            last_success=success,
            failures_in_a_row=streak,
            open_incidents=tuple(kinds),
            last_error=rows[0].error if rows else "",
            unfinished=later[0] if later else None,
        )


def _after(a: str, b: str) -> bool:
    """Is ISO time ``a`` later than ``b`` (as instants: the two may differ in their fractions of a second)?"""
    return datetime.fromisoformat(a) > datetime.fromisoformat(b)
