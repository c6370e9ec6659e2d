"""Benchmark: the embedded run history, SQLAlchemy Core (now) vs the stdlib sqlite3 code it replaced.

Run from the workspace root::

    uv run --locked python tools/bench/bench_history.py [--calls 200] [--trials 3]

A lab run writes one ``lab_runs`` row and its steps (six here) through ``record_lab``, after the run
service builds the history (``history_for``). Both are timed side by side in this one process, on
fresh files in a temporary folder, alternating which goes first: ``calls`` x (build + ``record_lab``)
and ``calls`` x ``record_lab`` on one object. Also the import of each (a fresh interpreter, best of
``trials``): SQLAlchemy is imported once per process, the cost a short CLI call pays. Baseline: the
stdlib code of ``history/store.py`` before SQLAlchemy (commit ac04352), its write path copied below.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from buildcpg_shared.history import History
from buildcpg_shared.run_record import LabRunRecord, Status, StepRecord

OLD_SCHEMA = """
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


class StdlibHistory:
    """The write path of the history before SQLAlchemy (ac04352), verbatim in behaviour."""

    def __init__(self, path: Path) -> None:
        self.path = path
        con = sqlite3.connect(path, timeout=30)
        try:
            con.execute("pragma busy_timeout=30000")
            con.execute("pragma journal_mode=wal")
            con.executescript(OLD_SCHEMA)
            {r[1] for r in con.execute("pragma table_info(lab_runs)")}
        finally:
            con.close()

    def start_run(self, command: str, labs: int) -> str:
        run_id = uuid.uuid4().hex[:12]
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("pragma busy_timeout=30000")
            con.execute("begin immediate")
            con.execute(
                "insert into runs(run_id, command, started_at, labs) values (?, ?, ?, ?)",
                (run_id, command, "2026-01-01T00:00:00+00:00", labs),
            )
            con.execute("commit")
        finally:
            con.close()
        return run_id

    def record_lab(self, run_id: str, record: LabRunRecord) -> None:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("pragma busy_timeout=30000")
            con.execute("begin immediate")
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
            con.execute("commit")
        finally:
            con.close()


RECORD = LabRunRecord(
    "lab1_sales_performance",
    Status.OK,
    "2026-01-01T00:00:00+00:00",
    "2026-01-01T00:00:09+00:00",
    9.1,
    rows=123_456,
    quality=97.5,
    steps=tuple(
        StepRecord(n, Status.OK, 1.5, 1000, "detail")
        for n in ("check", "load", "transform", "test", "inspect", "publish")
    ),
    inputs={"from_lab1": {"version": 3}},
)


def _time(make: type, folder: Path, calls: int, *, rebuild: bool) -> float:
    path = folder / f"{make.__name__}-{uuid.uuid4().hex[:6]}.sqlite"
    history = make(path)
    run_id = history.start_run("bench", calls)
    start = time.perf_counter()
    for _ in range(calls):
        if rebuild:  # what the run service does: build the history, then write the run
            history = make(path)
        history.record_lab(run_id, RECORD)
    return time.perf_counter() - start


def _import_s(module: str, trials: int) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(trials)
    ]
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for rebuild in (True, False):
            old_t, new_t = [], []
            for trial in range(args.trials):
                pair = [(StdlibHistory, old_t), (History, new_t)]
                for make, out in pair if trial % 2 == 0 else reversed(pair):
                    out.append(_time(make, folder, args.calls, rebuild=rebuild))
            old, new = min(old_t), min(new_t)
            what = "build + record_lab" if rebuild else "record_lab (one object)"
            print(
                f"{args.calls} x {what:24}  stdlib {old * 1000 / args.calls:6.2f} ms/call   "
                f"SQLAlchemy {new * 1000 / args.calls:6.2f} ms/call   ratio {new / old:.2f}x"
            )
    old_imp = _import_s("sqlite3", args.trials)
    new_imp = _import_s("sqlite3, sqlalchemy.dialects.sqlite", args.trials)
    print(f"import (once per process): sqlite3 {old_imp * 1000:.0f} ms   + SQLAlchemy {new_imp * 1000:.0f} ms")


if __name__ == "__main__":
    main()
