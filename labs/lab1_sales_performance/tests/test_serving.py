"""BI-safe serving: a reader holding the serving file open during three lab runs sees only complete versions.

The reader is a separate process (as a BI tool would be) with read_only DuckDB connections: one
held open for the whole test, and a new one opened over and over. Every read checks that the row
count of each gold table equals what the version table written in the same file says.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
from buildcpg_shared.testing import copy_lab, run_lab_dir

LAB_DIR = Path(__file__).resolve().parents[1]

READER = r"""
import json, sys, time
from pathlib import Path
import duckdb

serving, stop, out, mode = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]

def read(con):
    version, tables = con.execute("select version, tables from _buildcpg_version").fetchone()
    tables = json.loads(tables)
    counts = {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}
    return version, counts == tables and len(tables) > 0

held = duckdb.connect(str(serving), read_only=True) if mode == "hold" else None
reads, errors = [], []
Path(str(out) + ".ready").touch()
while not stop.exists():
    try:
        if held is not None:
            reads.append(read(held))
        else:  # a new connection each time, as a BI tool refreshing its extract
            con = duckdb.connect(str(serving), read_only=True)
            reads.append(read(con))
            con.close()
    except Exception as err:
        errors.append(repr(err))
    time.sleep(0.01)
out.write_text(json.dumps({"reads": reads, "errors": errors}))
"""


def _add_month(raw: Path, month: int) -> None:
    """A new monthly file, as the POS export drops one (new transaction ids, same shape)."""
    with (raw / "sales_2026_06.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    with (raw / f"sales_2027_{month:02d}.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(rows[0])
        for i, row in enumerate(rows[1:1001]):
            writer.writerow([f"M{month:02d}{i:07d}", *row[1:]])


def test_reader_sees_only_complete_versions_across_three_runs(tmp_path: Path) -> None:
    lab_dir = copy_lab(LAB_DIR, tmp_path)
    _, first = run_lab_dir(lab_dir, echo=False)
    assert first.ok, first.error
    serving = lab_dir / "data" / "serving" / f"{lab_dir.name}.duckdb"
    stop = tmp_path / "stop"
    outs = {mode: tmp_path / f"{mode}.json" for mode in ("hold", "reopen")}
    readers = [
        subprocess.Popen([sys.executable, "-c", READER, str(serving), str(stop), str(out), mode])
        for mode, out in outs.items()
    ]  # two processes: DuckDB shares one instance between connections to a file within a process
    try:
        deadline = time.monotonic() + 60
        while not all(Path(f"{o}.ready").exists() for o in outs.values()) and time.monotonic() < deadline:
            time.sleep(0.02)
        versions = []
        for month in (1, 2, 3):
            _add_month(lab_dir / "data" / "raw", month)
            _, report = run_lab_dir(lab_dir, echo=False)
            assert report.ok, report.error
            publish = report.step("publish")
            assert publish is not None and publish.status == "ok", publish
            versions.append(publish.data["version"])
            time.sleep(0.3)  # let the readers see this version
    finally:
        stop.touch()
        for reader in readers:
            reader.wait(timeout=60)
    held, reopened = (json.loads(o.read_text()) for o in outs.values())
    assert versions == [2, 3, 4]
    assert not held["errors"] and not reopened["errors"], (held["errors"] + reopened["errors"])[:3]
    assert all(complete for _, complete in held["reads"] + reopened["reads"])  # never half a version
    assert {v for v, _ in held["reads"]} == {1}  # the connection held open keeps reading its version
    seen = [v for v, _ in reopened["reads"]]
    assert seen == sorted(seen) and set(seen) == {1, 2, 3, 4}  # each new version, complete, in order
    assert sorted(p.name for p in serving.parent.iterdir()) == [serving.name]  # no temporary where BI reads
    with duckdb.connect(str(serving), read_only=True) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
    assert {s for s, _ in tables} == {"gold", "main"}  # only gold is served, and the version table
    assert [t for s, t in tables if s == "main"] == ["_buildcpg_version"]
