"""Lab state on object storage: snapshots of a lab database and the pointer that names the newest.

Layout under the storage prefix::

    state/<lab>/s<N>.duckdb.gz   one snapshot of data/<lab>.duckdb (gzip level 1), written once, never changed
    state/<lab>/CURRENT.json     {version, run_id, key, sha256, size, created_at, fingerprint}

``sha256`` and ``size`` are those of the uncompressed database (computed in the one pass that
compresses it), ``fingerprint`` the lab state it holds (``pipeline/lab_state.py``), so a run that
changed nothing uploads nothing. Written with the protocol of published gold (``store/versioned.py``):
object create-only, pointer last and conditional, so a kill mid-upload never moves the pointer.

Compression is gzip level 1 from the standard library (zstandard is no dependency of the workspace):
a DuckDB file is already compressed column by column, and level 1 still halves lab-like data
(1.9× on a 190-210 MB sales table) at 20-50 MB/s on a busy 2-core machine; levels 3 and 6 gave
1.93× and 1.92× in the same time. gzip costs CPU: on 127.0.0.1 a snapshot takes longer than a bare
upload of the file, over a link slower than the compression it sends half the bytes
(``tools/bench/bench_lab_state.py`` measures both).
"""

from __future__ import annotations

import contextlib
import hashlib
import zlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from buildcpg_shared.errors import StorageError
from buildcpg_shared.store.client import CHUNK, ObjectStore
from buildcpg_shared.store.versioned import VersionedObjects

LEVEL = 1  # gzip level: see the module docstring
_GZIP = 31  # zlib wbits for a gzip container (readable by `gunzip`)
_READ_TRIES = 3  # a snapshot pruned between reading the pointer and the object: read the pointer again


def state_prefix(lab: str) -> str:
    return f"state/{lab}/"


@dataclass(frozen=True)
class Snapshot:
    """``state/<lab>/CURRENT.json``: the newest snapshot of a lab's database."""

    version: int
    run_id: str
    key: str
    sha256: str  # of the uncompressed database
    size: int  # bytes of the uncompressed database
    created_at: str
    fingerprint: str  # the lab state it holds: equal fingerprints, nothing to upload

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Snapshot:
        return cls(
            int(str(data["version"])),
            str(data["run_id"]),
            str(data["key"]),
            str(data["sha256"]),
            int(str(data["size"])),
            str(data["created_at"]),
            str(data.get("fingerprint") or ""),
        )


class LabSnapshots:
    """Snapshots of every lab's database on one object store."""

    def __init__(self, store: ObjectStore, keep_versions: int = 10) -> None:
        self.store = store
        self.keep_versions = max(1, keep_versions)

    @classmethod
    def from_url(cls, url: str, keep_versions: int = 10) -> LabSnapshots:
        return cls(ObjectStore(url), keep_versions)

    def objects(self, lab: str) -> VersionedObjects:
        return VersionedObjects(
            self.store, state_prefix(lab), letter="s", suffix=".duckdb.gz", keep_versions=self.keep_versions
        )

    def current(self, lab: str) -> tuple[Snapshot, str] | None:
        """(the newest snapshot, the pointer's ETag), or None when the lab has none on storage."""
        objects = self.objects(lab)
        found = objects.pointer()
        if found is None:
            return None
        try:
            return Snapshot.from_json(found[0]), found[1]
        except (KeyError, ValueError) as err:
            raise objects.damaged(err) from None

    def versions(self, lab: str) -> list[int]:
        return self.objects(lab).versions()

    def take(self, lab: str, database: Path, *, run_id: str, fingerprint: str, work_file: Path) -> Snapshot:
        """Compress ``database`` to ``work_file`` (hashing it in the same pass), upload it as the next
        snapshot (create-only), move the pointer (conditional), prune. ``StorageError`` (or its
        ``StaleWriterError``) on a fault or a lost race: the pointer still names the last complete one."""
        objects = self.objects(lab)
        current = self.current(lab)
        upcoming = objects.next_version(current[0].version if current else None, current[1] if current else None)
        try:
            sha256, size = compress(database, work_file)
            snapshot = Snapshot(
                version=upcoming.version,
                run_id=run_id,
                key=objects.name(upcoming.version),
                sha256=sha256,
                size=size,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                fingerprint=fingerprint,
            )
            objects.put(work_file, upcoming, lambda _etag: asdict(snapshot), subject=lab, verb="snapshotted")
        finally:
            with contextlib.suppress(OSError):
                work_file.unlink(missing_ok=True)
        return snapshot

    def fetch(self, lab: str, dest: Path) -> Snapshot | None:
        """The newest snapshot, decompressed into ``dest`` (streamed; sha256 and size checked), or None
        when the lab has none. ``dest`` is written only when complete and checked; on any fault it is
        removed and a ``StorageError`` of one line raised."""
        for _ in range(_READ_TRIES):
            current = self.current(lab)
            if current is None:
                return None
            snapshot = current[0]
            try:
                self._download(snapshot, dest)
            except FileNotFoundError:
                continue  # pruned after we read the pointer: the pointer has moved on
            return snapshot
        raise StorageError(f"storage {self.store.where.url}: {lab}: the snapshot the pointer names keeps vanishing")

    def _download(self, snapshot: Snapshot, dest: Path) -> None:
        digest, size = hashlib.sha256(), 0
        inflate = zlib.decompressobj(_GZIP)
        done = False
        try:
            with dest.open("wb") as out:
                for chunk in self.store.chunks(snapshot.key):
                    data = inflate.decompress(chunk)
                    digest.update(data)
                    size += len(data)
                    out.write(data)
                data = inflate.flush()
                digest.update(data)
                size += len(data)
                out.write(data)
            if not inflate.eof or digest.hexdigest() != snapshot.sha256 or size != snapshot.size:
                raise StorageError(
                    f"storage {self.store.where.url}: {snapshot.key} does not match the checksum "
                    f"{snapshot.sha256[:12]}… of its pointer: not restored"
                )
            done = True
        except zlib.error as err:
            raise StorageError(f"storage {self.store.where.url}: {snapshot.key} is not a gzip file ({err})") from None
        except OSError as err:
            if isinstance(err, FileNotFoundError) and err.filename is None:
                raise  # the object is gone (pruned)
            raise StorageError(f"cannot write {dest}: {err.strerror or err}") from None
        finally:
            if not done:
                with contextlib.suppress(OSError):
                    dest.unlink(missing_ok=True)


def compress(source: Path, target: Path) -> tuple[str, int]:
    """gzip ``source`` into ``target`` in one streamed pass; (sha256, size) of ``source``."""
    digest, size = hashlib.sha256(), 0
    deflate = zlib.compressobj(LEVEL, zlib.DEFLATED, _GZIP)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with source.open("rb") as stream, target.open("wb") as out:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(deflate.compress(chunk))
            out.write(deflate.flush())
    except OSError as err:
        raise StorageError(f"cannot compress {source.name} for its snapshot: {err.strerror or err}") from None
    return digest.hexdigest(), size
