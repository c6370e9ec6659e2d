"""Benchmark: lab state snapshots (issue 23, item 5) against a bare upload/download, same client, same server.

    uv run --locked python tools/bench/bench_lab_state.py [--rows 22000000]

Builds a lab database of ~200 MB with DuckDB in a temporary folder (a sales-like table, plus the
ledger and run state a lab keeps), starts moto's S3 server on 127.0.0.1 in its own process, and
prints side by side, with the platform's own client (``store.ObjectStore``, boto3):

* **snapshot** (``pipeline.lab_state.snapshot``: gzip level 1 while hashing, create-only upload,
  conditional pointer) vs a **bare upload** (``upload_new``) of the same database file;
* the **unchanged rerun** (the same lab state again: the fingerprint equals the marker's, nothing
  is read or sent) vs that bare upload;
* **restore** (``pipeline.lab_state.restore`` into a second lab with no database: streamed download,
  gunzip, sha256 and size check, atomic move) vs a **bare download** of the uncompressed file.

Seconds are wall time on this machine; the bytes column is what crossed the wire. Over a real network
the compressed size is what matters, on 127.0.0.1 the CPU that gzip costs does.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

import duckdb
from buildcpg_shared.local_servers import s3_server
from buildcpg_shared.pipeline import lab_state
from buildcpg_shared.registry import Workspace
from buildcpg_shared.store import LabSnapshots, ObjectStore
from buildcpg_shared.store.snapshots import compress

BUCKET = "bench-lab-state"
LAB = "lab_bench"


def _workspace(root: Path) -> Workspace:
    """A workspace with one lab (no venv, no dbt: only its folders and lab.yaml matter here)."""
    (root / "labs" / LAB / "data").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = ["labs/*"]\n')
    (root / "labs" / LAB / "lab.yaml").write_text(f"name: {LAB}\nsources: {{}}\n")
    return Workspace(root)


def _build(database: Path, rows: int) -> str:
    """A lab-like database: a sales table, the ledger and the run state. Its state fingerprint."""
    with duckdb.connect(str(database)) as con:
        con.execute(
            "create table sales as select range as id, (range % 5000)::int as store_id, "
            "date '2024-01-01' + (range % 700)::int as day, 'SKU-' || (range % 20000) as sku, "
            "round(random() * 100, 2) as price, (random() * 10)::int as qty, "
            f"case when random() < 0.5 then 'online' else 'store' end as channel from range({rows})"
        )
        con.execute("create schema _buildcpg")
        con.execute(
            "create table _buildcpg.ledger (source varchar, file varchar, size bigint, mtime_ns bigint, "
            "sha256 varchar, rows bigint, rejected bigint, loaded_at timestamp, run_id varchar)"
        )
        con.execute(f"insert into _buildcpg.ledger values ('sales', 'sales.csv', 1, 1, 'x', {rows}, 0, now(), 'r1')")
        con.execute("create table _buildcpg.state (key varchar primary key, value varchar)")
        con.execute("insert into _buildcpg.state values ('last_good_build', 'bench')")
        key = lab_state.state_fingerprint(con)
        con.execute("checkpoint")
    return key


def _timed(call: object) -> tuple[float, object]:
    start = time.perf_counter()
    result = call()  # type: ignore[operator]
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=22_000_000, help="sales rows (22M: a ~200 MB database)")
    args = parser.parse_args()

    # moto in its own process: it keeps objects in memory, on its own CPU time
    with s3_server("bench-secret", bucket=BUCKET, own_process=True) as s3:
        os.environ.update({key: value for key, value in s3.items() if key.startswith("AWS_")})
        port = s3["AWS_ENDPOINT_URL"].rsplit(":", 1)[1]
        url = f"s3://{BUCKET}/{uuid.uuid4().hex[:8]}"
        store = ObjectStore(url)
        snapshots = LabSnapshots(store)
        with tempfile.TemporaryDirectory() as tmp:
            a, b = _workspace(Path(tmp) / "A"), _workspace(Path(tmp) / "B")
            lab_a, lab_b = a.lab(LAB), b.lab(LAB)
            database = lab_a.paths.database()
            key = _build(database, args.rows)
            size = database.stat().st_size

            gz_s, _ = _timed(lambda: compress(database, Path(tmp) / "alone.gz"))
            bare_up, _ = _timed(lambda: store.upload_new("bare/lab.duckdb", database))
            snap_s, taken = _timed(
                lambda: lab_state.snapshot(lab_a, database, snapshots, run_id="bench", state_key=key)
            )
            assert taken.status == "ok", taken.detail  # type: ignore[attr-defined]
            current = snapshots.current(LAB)
            assert current is not None
            sent = next(
                o["Size"]
                for o in store.client.list_objects_v2(Bucket=BUCKET)["Contents"]
                if o["Key"].endswith(".duckdb.gz")
            )
            again_s, again = _timed(
                lambda: lab_state.snapshot(lab_a, database, snapshots, run_id="bench2", state_key=key)
            )
            assert again.status == "skipped", again.detail  # type: ignore[attr-defined]

            bare_file = Path(tmp) / "bare.duckdb"

            def bare_download() -> None:
                with bare_file.open("wb") as out:
                    for chunk in store.chunks("bare/lab.duckdb"):
                        out.write(chunk)

            bare_down, _ = _timed(bare_download)
            restore_s, restored = _timed(lambda: lab_state.restore(lab_b, lab_b.paths.database(), snapshots))
            assert restored.status == "ok", restored.detail  # type: ignore[attr-defined]
            assert lab_b.paths.database().stat().st_size == size

            mb = size / 1e6
            print(
                f"lab database {mb:.0f} MB ({args.rows:,} sales rows); gzip level 1 → {sent / 1e6:.0f} MB "
                f"({size / sent:.2f}x); moto on 127.0.0.1:{port}"
            )
            print(f"{'operation':<44}{'seconds':>9}{'MB sent':>9}{'vs bare':>9}")
            rows = [
                ("bare upload (upload_new, uncompressed)", bare_up, mb, bare_up),
                ("snapshot (gzip 1 + sha256 + upload + pointer)", snap_s, sent / 1e6, bare_up),
                ("  of which gzip level 1 + sha256 alone", gz_s, None, bare_up),
                ("unchanged rerun (fingerprint = marker)", again_s, 0.0, bare_up),
                ("bare download (chunks, uncompressed)", bare_down, mb, bare_down),
                ("restore (download + gunzip + sha256 + move)", restore_s, sent / 1e6, bare_down),
            ]
            for name, seconds, moved, base in rows:
                sent_text = "" if moved is None else f"{moved:.0f}"
                print(f"{name:<44}{seconds:>9.3f}{sent_text:>9}{seconds / base:>8.2f}x")


if __name__ == "__main__":
    main()
