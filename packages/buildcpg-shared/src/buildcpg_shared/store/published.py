"""Published gold on object storage: immutable versions and the pointer that names the current one.

Layout under the storage prefix::

    serving/<lab>/v<N>.duckdb    one published serving copy, written once (create-only), never changed
    serving/<lab>/CURRENT.json   {version, run_id, key, sha256, published_at, etag}: the version readers take

A writer uploads ``v<N>`` create-only, then moves the pointer with a conditional write: ``If-Match``
on the pointer's ETag it read before choosing ``N`` (create-only for the first). A writer that was
slower, or stale, finds the condition false and loses with one line: the pointer never goes back. A
reader reads the pointer, then that version on the condition of the ETag the pointer records (the
store refuses any other object under that key; a pointer without one: the sha256 is checked): old or
new, never a mix.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from buildcpg_shared.errors import ObjectChangedError, StaleWriterError, StorageError
from buildcpg_shared.store.checksum import FileSha256, StreamSha256
from buildcpg_shared.store.client import ObjectStore

POINTER = "CURRENT.json"
_VERSION_NAME = re.compile(r"^v(\d+)\.duckdb$")
_READ_TRIES = 3  # a version pruned between reading the pointer and the object: read the pointer again


def lab_prefix(lab: str) -> str:
    return f"serving/{lab}/"


def version_name(lab: str, version: int) -> str:
    return f"{lab_prefix(lab)}v{version}.duckdb"


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


@dataclass(frozen=True)
class NextVersion:
    """The version a writer will publish and the pointer's ETag it must still find (None: no pointer yet)."""

    version: int
    etag: str | None


class SharedGold:
    """Published serving copies of every lab on one object store."""

    def __init__(self, store: ObjectStore, keep_versions: int = 10) -> None:
        self.store = store
        self.keep_versions = max(1, keep_versions)

    @classmethod
    def from_url(cls, url: str, keep_versions: int = 10) -> SharedGold:
        return cls(ObjectStore(url), keep_versions)

    def current(self, lab: str) -> tuple[Pointer, str] | None:
        """(the pointer, its ETag), or None when the lab has never published to storage."""
        found = self.store.get_json(lab_prefix(lab) + POINTER)
        if found is None:
            return None
        data, etag = found
        try:
            return Pointer.from_json(data), etag
        except (KeyError, ValueError) as err:
            where = f"storage {self.store.where.url}: {lab_prefix(lab)}{POINTER}"
            raise StorageError(f"{where} is damaged ({err})") from None

    def versions(self, lab: str) -> list[int]:
        """Every version object of a lab on storage, oldest first."""
        prefix = lab_prefix(lab)
        found = (_VERSION_NAME.match(name[len(prefix) :]) for name in self.store.names(prefix))
        return sorted(int(m.group(1)) for m in found if m)

    def next_version(self, lab: str, at_least: int = 1) -> NextVersion:
        """A version above the pointer's and above every object left by others (at least ``at_least``)."""
        current = self.current(lab)
        highest = max([current[0].version if current else 0, *self.versions(lab), at_least - 1])
        return NextVersion(highest + 1, current[1] if current else None)

    def publish(self, lab: str, file: Path, *, run_id: str, next_version: NextVersion) -> Pointer:
        """Upload ``file`` as ``next_version`` (create-only), then move the pointer to it (conditional),
        then prune. ``StaleWriterError`` when another writer got there first; ``StorageError`` on a fault.
        Either way the pointer still names the last complete version."""
        key = version_name(lab, next_version.version)
        with FileSha256(file) as checksum:  # hashed on a thread while the upload reads the file
            etag = self.store.upload_new(key, file)
            pointer = Pointer(
                version=next_version.version,
                run_id=run_id,
                key=key,
                sha256=checksum.hexdigest(),
                published_at=datetime.now(UTC).isoformat(timespec="seconds"),
                etag=etag,
            )
        try:
            self.store.put_json(lab_prefix(lab) + POINTER, asdict(pointer), if_match=next_version.etag)
        except StaleWriterError:
            now = self.current(lab)
            newer = f" (it names v{now[0].version})" if now else ""
            with contextlib.suppress(StorageError):
                self.store.delete(key)  # never named by the pointer: nobody reads it
            raise StaleWriterError(
                f"storage {self.store.where.url}: {lab} v{pointer.version} not published: another writer moved "
                f"{lab_prefix(lab)}{POINTER} meanwhile{newer}"
            ) from None
        self.prune(lab, pointer.version)
        return pointer

    def prune(self, lab: str, current: int) -> list[int]:
        """Delete versions older than the newest ``keep_versions`` up to ``current`` (never ``current``,
        never one above it: another writer may be about to name it). The versions deleted."""
        below = [v for v in self.versions(lab) if v < current]
        keep = self.keep_versions - 1  # the current one counts
        doomed = below[: max(0, len(below) - keep)]
        for version in doomed:
            self.store.delete(version_name(lab, version))
        return doomed

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
