"""Published gold on object storage: immutable versions and the pointer that names the current one.

Layout under the storage prefix::

    serving/<lab>/v<N>.duckdb    one published serving copy, written once (create-only), never changed
    serving/<lab>/CURRENT.json   {version, run_id, key, sha256, published_at, etag}: the version readers take

A writer uploads ``v<N>`` create-only, then moves the pointer with a conditional write: ``If-Match``
on the pointer's ETag it read before choosing ``N`` (create-only for the first). A writer that was
slower, or stale, finds the condition false and loses with one line: the pointer never goes back
(the protocol, shared with lab state snapshots, is ``store/versioned.py``). A reader reads the
pointer, then that version on the condition of the ETag the pointer records (the store refuses any
other object under that key; a pointer without one: the sha256 is checked): old or new, never a mix.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from buildcpg_shared.errors import ObjectChangedError, StorageError
from buildcpg_shared.store.checksum import FileSha256, StreamSha256
from buildcpg_shared.store.client import CHUNK, ObjectStore
from buildcpg_shared.store.versioned import POINTER, NextVersion, VersionedObjects

__all__ = ["POINTER", "NextVersion", "Pointer", "SharedGold", "lab_prefix", "sha256_of", "version_name"]
_READ_TRIES = 3  # a version pruned between reading the pointer and the object: read the pointer again


def lab_prefix(lab: str) -> str:
    return f"serving/{lab}/"


def version_name(lab: str, version: int) -> str:
    return f"{lab_prefix(lab)}v{version}.duckdb"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Pointer:
    """``CURRENT.json``: the version readers take, the run that published it, its key and checksum, and
    the ETag the store gave the object (readers fetch it on that condition; "" in older pointers)."""

    version: int
    run_id: str
    key: str
    sha256: str
    published_at: str
    etag: str = ""

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Pointer:
        return cls(
            int(str(data["version"])),
            str(data["run_id"]),
            str(data["key"]),
            str(data["sha256"]),
            str(data["published_at"]),
            str(data.get("etag") or ""),
        )


class SharedGold:
    """Published serving copies of every lab on one object store."""

    def __init__(self, store: ObjectStore, keep_versions: int = 10) -> None:
        self.store = store
        self.keep_versions = max(1, keep_versions)

    @classmethod
    def from_url(cls, url: str, keep_versions: int = 10) -> SharedGold:
        return cls(ObjectStore(url), keep_versions)

    def objects(self, lab: str) -> VersionedObjects:
        """The lab's ``v<N>.duckdb`` objects and their pointer (the shared write protocol)."""
        return VersionedObjects(
            self.store, lab_prefix(lab), letter="v", suffix=".duckdb", keep_versions=self.keep_versions
        )

    def current(self, lab: str) -> tuple[Pointer, str] | None:
        """(the pointer, its ETag), or None when the lab has never published to storage."""
        objects = self.objects(lab)
        found = objects.pointer()
        if found is None:
            return None
        data, etag = found
        try:
            return Pointer.from_json(data), etag
        except (KeyError, ValueError) as err:
            raise objects.damaged(err) from None

    def versions(self, lab: str) -> list[int]:
        """Every version object of a lab on storage, oldest first."""
        return self.objects(lab).versions()

    def next_version(self, lab: str, at_least: int = 1) -> NextVersion:
        """A version above the pointer's and above every object left by others (at least ``at_least``)."""
        current = self.current(lab)
        return self.objects(lab).next_version(
            current[0].version if current else None, current[1] if current else None, at_least
        )

    def publish(self, lab: str, file: Path, *, run_id: str, next_version: NextVersion) -> Pointer:
        """Upload ``file`` as ``next_version`` (create-only), then move the pointer to it (conditional),
        then prune. ``StaleWriterError`` when another writer got there first; ``StorageError`` on a fault.
        Either way the pointer still names the last complete version."""
        published: list[Pointer] = []

        def pointer(etag: str) -> dict[str, object]:
            published.append(
                Pointer(
                    version=next_version.version,
                    run_id=run_id,
                    key=version_name(lab, next_version.version),
                    sha256=checksum.hexdigest(),
                    published_at=datetime.now(UTC).isoformat(timespec="seconds"),
                    etag=etag,
                )
            )
            return asdict(published[-1])

        with FileSha256(file) as checksum:  # hashed on a thread while the upload reads the file
            self.objects(lab).put(file, next_version, pointer, subject=lab, verb="published")
        return published[-1]

    def prune(self, lab: str, current: int) -> list[int]:
        """Delete versions older than the newest ``keep_versions`` up to ``current`` (never ``current``,
        never one above it: another writer may be about to name it). The versions deleted."""
        return self.objects(lab).prune(current)

    def pull(self, lab: str, dest: Path) -> Pointer:
        """The current version into ``dest``: streamed to a temporary beside it, checksum checked, then
        ``os.replace`` (atomic). A reader of ``dest`` sees the old file or the new one, never a mix."""
        for _ in range(_READ_TRIES):
            current = self.current(lab)
            if current is None:
                raise StorageError(f"storage {self.store.where.url}: {lab} has not published to storage yet")
            pointer = current[0]
            try:
                self._download(pointer, dest)
            except FileNotFoundError:
                continue  # pruned after we read the pointer: the pointer has moved on
            return pointer
        raise StorageError(f"storage {self.store.where.url}: {lab}: the version the pointer names keeps vanishing")

    def cached(self, lab: str, cache_dir: Path) -> tuple[Pointer, Path]:
        """The current version as ``cache_dir/v<N>.duckdb`` (downloaded once; a version never changes)."""
        for _ in range(_READ_TRIES):
            current = self.current(lab)
            if current is None:
                raise StorageError(f"storage {self.store.where.url}: {lab} has not published to storage yet")
            pointer = current[0]
            target = cache_dir / f"v{pointer.version}.duckdb"
            if target.is_file():
                return pointer, target
            try:
                self._download(pointer, target)
            except FileNotFoundError:
                continue
            for old in cache_dir.glob("v*.duckdb"):  # older cached versions: nobody reads them any more
                if old != target:
                    with contextlib.suppress(OSError):
                        old.unlink()
            return pointer, target
        raise StorageError(f"storage {self.store.where.url}: {lab}: the version the pointer names keeps vanishing")

    def _download(self, pointer: Pointer, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        mismatch = StorageError(
            f"storage {self.store.where.url}: {pointer.key} does not match the checksum "
            f"{pointer.sha256[:12]}… of {POINTER}: not used"
        )
        try:
            if pointer.etag:  # the store checks it is the very object published: no second pass here
                try:
                    with tmp.open("wb") as out:
                        for chunk in self.store.chunks(pointer.key, if_match=pointer.etag):
                            out.write(chunk)
                except ObjectChangedError:
                    raise mismatch from None
            else:  # a pointer from before ETags: the sha256, hashed while the next chunk comes
                with tmp.open("wb") as out, StreamSha256() as digest:
                    for chunk in self.store.chunks(pointer.key):
                        digest.update(chunk)
                        out.write(chunk)
                if digest.hexdigest() != pointer.sha256:
                    raise mismatch
            os.replace(tmp, dest)
        except OSError as err:
            if isinstance(err, FileNotFoundError) and err.filename is None:
                raise  # the object is gone (pruned)
            raise StorageError(f"cannot write {dest}: {err.strerror or err}") from None
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
