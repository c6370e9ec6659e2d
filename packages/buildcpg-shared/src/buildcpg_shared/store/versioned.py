"""Numbered, immutable objects under one prefix and the ``CURRENT.json`` pointer that names one of them.

The one write protocol shared by published gold (``serving/<lab>/v<N>.duckdb``) and lab state
snapshots (``state/<lab>/s<N>.duckdb.gz``): choose ``N`` above the pointer and every object there,
upload ``N`` create-only (``If-None-Match: *``), then move the pointer with ``If-Match`` on the ETag
read when ``N`` was chosen (create-only for the first). A slower or stale writer loses with one line
and its object is deleted; the pointer never goes back and never names an incomplete object. Old
objects are pruned below the current one, never the current one or one above it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buildcpg_shared.errors import StaleWriterError, StorageError
from buildcpg_shared.store.client import ObjectStore

POINTER = "CURRENT.json"


@dataclass(frozen=True)
class NextVersion:
    """The version a writer will write and the pointer's ETag it must still find (None: no pointer yet)."""

    version: int
    etag: str | None


class VersionedObjects:
    """``<prefix><letter><N><suffix>`` objects and ``<prefix>CURRENT.json`` on one store."""

    def __init__(self, store: ObjectStore, prefix: str, *, letter: str, suffix: str, keep_versions: int) -> None:
        self.store = store
        self.prefix = prefix  # ends with "/"
        self.letter = letter
        self.suffix = suffix
        self.keep_versions = max(1, keep_versions)
        self._pattern = re.compile(rf"^{re.escape(letter)}(\d+){re.escape(suffix)}$")

    @property
    def pointer_name(self) -> str:
        return self.prefix + POINTER

    def name(self, version: int) -> str:
        return f"{self.prefix}{self.letter}{version}{self.suffix}"

    def pointer(self) -> tuple[dict[str, Any], str] | None:
        """(the pointer's JSON, its ETag), or None when nothing was ever written."""
        return self.store.get_json(self.pointer_name)

    def damaged(self, err: Exception) -> StorageError:
        return StorageError(f"storage {self.store.where.url}: {self.pointer_name} is damaged ({err})")

    def versions(self) -> list[int]:
        """Every version object on storage, oldest first."""
        found = (self._pattern.match(name[len(self.prefix) :]) for name in self.store.names(self.prefix))
        return sorted(int(m.group(1)) for m in found if m)

    def next_version(self, current: int | None, etag: str | None, at_least: int = 1) -> NextVersion:
        """A version above ``current`` (the pointer's), above every object left by others, at least ``at_least``."""
        highest = max([current or 0, *self.versions(), at_least - 1])
        return NextVersion(highest + 1, etag)

    def put(
        self,
        file: Path,
        next_version: NextVersion,
        pointer: Callable[[str], dict[str, Any]],
        *,
        subject: str,
        verb: str,
    ) -> None:
        """Upload ``file`` as ``next_version`` (create-only), then move the pointer to ``pointer(etag)``
        (the pointer's JSON, given the ETag the store gave the object; conditional), then prune.
        ``StaleWriterError`` when another writer got there first (its object is deleted: nothing names
        it); ``StorageError`` on a fault. Either way the pointer still names the last complete version."""
        key = self.name(next_version.version)
        etag = self.store.upload_new(key, file)
        try:
            self.store.put_json(self.pointer_name, pointer(etag), if_match=next_version.etag)
        except StaleWriterError:
            newer = ""
            with contextlib.suppress(StorageError, KeyError, ValueError, TypeError):
                now = self.pointer()
                newer = f" (it names {self.letter}{int(now[0]['version'])})" if now else ""
            with contextlib.suppress(StorageError):
                self.store.delete(key)  # never named by the pointer: nobody reads it
            raise StaleWriterError(
                f"storage {self.store.where.url}: {subject} {self.letter}{next_version.version} not {verb}: "
                f"another writer moved {self.pointer_name} meanwhile{newer}"
            ) from None
        self.prune(next_version.version)

    def prune(self, current: int) -> list[int]:
        """Delete versions older than the newest ``keep_versions`` up to ``current`` (never ``current``,
        never one above it: another writer may be about to name it). The versions deleted."""
        below = [v for v in self.versions() if v < current]
        keep = self.keep_versions - 1  # the current one counts
        doomed = below[: max(0, len(below) - keep)]
        for version in doomed:
            self.store.delete(self.name(version))
        return doomed
