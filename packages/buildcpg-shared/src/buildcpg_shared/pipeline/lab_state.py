"""Lab state follows the lab (``shared.storage`` set): restore the newest snapshot before a run,
snapshot the database after a good one (store/snapshots.py holds the objects and their pointer).

``data/.state_version`` records the snapshot the local database came from or was uploaded as
(``{"version", "fingerprint", "sha256"}``). Before a run (under the lab lock and the lease, before
Check) a newer snapshot on storage, or a missing local database, is downloaded, checked and moved into
place atomically; a local database that differs is moved aside to ``data/damaged/`` first, as
``--rebuild`` does. After a good run, on the checkpointed and closed file, the database is uploaded
unless its fingerprint (the ledger's data version and the run state: builds, publishes) equals the
marker's: a run that changed nothing uploads nothing.

A storage fault while restoring fails the run before Check (one line); while snapshotting it is a
``snapshot`` step that warns: the data is published, the run passes with a warning, and the next
good run snapshots again. The embedded default never gets here (``lab_snapshots`` is None).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from buildcpg_shared.errors import StorageError
from buildcpg_shared.ingest.ledger import LEDGER
from buildcpg_shared.pipeline import fingerprint
from buildcpg_shared.pipeline.database import move_aside
from buildcpg_shared.pipeline.steps import timed
from buildcpg_shared.registry import Lab, Workspace
from buildcpg_shared.run_record import Status, StepRecord
from buildcpg_shared.schema import META_SCHEMA, table_exists
from buildcpg_shared.store import LabSnapshots
from buildcpg_shared.store.published import sha256_of

RESTORE, SNAPSHOT = "restore", "snapshot"  # the records a run with shared storage adds around its steps


def lab_snapshots(lab: Lab) -> LabSnapshots | None:
    """The lab's snapshots on object storage when ``shared.storage`` is set, else None (embedded)."""
    settings = Workspace(lab.paths.root.parent.parent).shared
    if not settings.storage:
        return None
    return LabSnapshots.from_url(settings.storage, settings.keep_versions)


def state_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """What the lab state is, cheaply: the ledger's data version (every committed load changes it) and
    the run state (last good build, published version). Equal fingerprints: nothing to snapshot."""
    digest = hashlib.sha256()
    if table_exists(con, META_SCHEMA, LEDGER.split(".")[1]):
        digest.update(fingerprint.data_version(con).encode())
    if table_exists(con, META_SCHEMA, fingerprint.STATE.split(".")[1]):
        for key, value in con.execute(f"select key, value from {fingerprint.STATE} order by key").fetchall():
            digest.update(f"\0{key}={value}".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Marker:
    """``data/.state_version``: the snapshot the local database came from or was uploaded as."""

    version: int
    fingerprint: str
    sha256: str


def read_marker(path: Path) -> Marker | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Marker(int(data["version"]), str(data["fingerprint"]), str(data["sha256"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none, or unreadable: the local database is treated as older than any snapshot


def write_marker(path: Path, marker: Marker) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(marker.__dict__, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise StorageError(f"cannot write {path}: {err.strerror or err}") from None


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def restore(lab: Lab, database: Path, snapshots: LabSnapshots) -> StepRecord:
    """The newest snapshot into ``database`` when it is newer than the local one or the local one is
    missing. ``StorageError`` (one line) when storage fails: the run must not start on old state."""
    try:
        return _restore(lab, database, snapshots)
    except StorageError as err:
        raise StorageError(f"lab state not restored, the run stops before Check: {err}") from None


def _restore(lab: Lab, database: Path, snapshots: LabSnapshots) -> StepRecord:
    record = StepRecord(RESTORE)
    paths = lab.paths
    with timed(record):
        found = snapshots.current(lab.name)
        marker = read_marker(paths.state_marker)
        if marker is not None and (found is None or found[0].version < marker.version):
            # storage holds less than the local database was uploaded as (emptied, or another storage):
            # forget the marker, so this run's snapshot goes up even when nothing changed
            with contextlib.suppress(OSError):
                paths.state_marker.unlink()
        if found is None:
            record.status, record.detail = Status.SKIPPED, "no snapshot on storage yet"
            return record
        newest = found[0]
        if database.exists() and marker is not None and marker.version >= newest.version:
            record.status, record.detail = Status.SKIPPED, f"the local database is s{marker.version}, the newest"
            return record
        tmp = database.with_name(f".{database.stem}.restore.duckdb.tmp")
        try:
            got = snapshots.fetch(lab.name, tmp)
            if got is None:  # the pointer vanished meanwhile: nothing to restore
                record.status, record.detail = Status.SKIPPED, "no snapshot on storage yet"
                return record
            wal = database.with_name(database.name + ".wal")
            if database.exists() and not wal.exists() and sha256_of(database) == got.sha256:
                record.status, record.detail = Status.SKIPPED, f"the local database already is s{got.version}"
            else:
                moved = move_aside(paths, database, "a restore") if database.exists() else None
                os.replace(tmp, database)
                aside = f"; the local one moved aside to {paths.shown(moved)}" if moved else ""
                record.detail = f"s{got.version} of run {got.run_id} ({_mb(got.size)}){aside}"
                record.data = {"version": got.version, "key": got.key, "sha256": got.sha256}
            write_marker(paths.state_marker, Marker(got.version, got.fingerprint, got.sha256))
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
    return record


def snapshot(lab: Lab, database: Path, snapshots: LabSnapshots, *, run_id: str, state_key: str) -> StepRecord:
    """After a good run, on the closed database: upload it unless nothing changed since the marker's
    snapshot. A storage fault is a warning with its one line (the data is published), never silent."""
    record = StepRecord(SNAPSHOT)
    paths = lab.paths
    with timed(record):
        marker = read_marker(paths.state_marker)
        if marker is not None and marker.fingerprint == state_key and database.exists():
            record.status, record.detail = Status.SKIPPED, f"unchanged since s{marker.version}: nothing uploaded"
            return record
        wal = database.with_name(database.name + ".wal")
        try:
            if wal.exists() and wal.stat().st_size:
                raise StorageError(f"{paths.shown(wal)} is not checkpointed: the database is not consistent on its own")
            taken = snapshots.take(
                lab.name, database, run_id=run_id, fingerprint=state_key, work_file=paths.publish_dir / "state.gz.tmp"
            )
            write_marker(paths.state_marker, Marker(taken.version, taken.fingerprint, taken.sha256))
        except StorageError as err:
            record.status = Status.WARN
            record.detail = f"not snapshotted: {err}; the data is published, the next good run snapshots again"
            return record
        record.detail = f"s{taken.version} ({_mb(taken.size)}) → {snapshots.store.where.url}/{taken.key}"
        record.data = {"version": taken.version, "key": taken.key, "sha256": taken.sha256, "size": taken.size}
    return record
