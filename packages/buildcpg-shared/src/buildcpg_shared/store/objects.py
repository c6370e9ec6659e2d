"""Objects under a prefix with their ETags, and one object streamed to a local file (read-only).

What raw drops on storage need (``ingest/s3_raw.py``): a listing, page by page, that says which
version of each object is there (its ETag), and a download that never holds a whole object in memory
and says which version it wrote (the GET's own ETag; ``If-Match`` the listed one). Nothing here writes,
changes or deletes an object. Client, credentials and one-line errors are ``ObjectStore``'s.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from buildcpg_shared.errors import ObjectChangedError, ObjectGoneError, StorageError
from buildcpg_shared.store.client import _MISSING, _PRECONDITION, CHUNK, ObjectStore, _code


@dataclass(frozen=True)
class ListedObject:
    """One object as a listing shows it; ``name`` is relative to the store's prefix."""

    name: str
    etag: str
    size: int
    modified_ns: int


@dataclass(frozen=True)
class Fetched:
    """What a download wrote: the object's version (the GET's ETag), its size and content hash."""

    etag: str
    size: int
    sha256: str


def _ns(when: datetime) -> int:
    return int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000


def list_objects(store: ObjectStore, prefix: str, *, page_size: int = 1000) -> list[ListedObject]:
    """Every object whose name starts with ``prefix`` (every page of ``page_size``), with its ETag,
    size and time."""
    base = store.where.key("")
    found: list[ListedObject] = []
    try:
        pages = store.client.get_paginator("list_objects_v2").paginate(
            Bucket=store.where.bucket, Prefix=store.where.key(prefix), PaginationConfig={"PageSize": page_size}
        )
        for page in pages:
            found += [
                ListedObject(str(o["Key"])[len(base) :], str(o["ETag"]), int(o["Size"]), _ns(o["LastModified"]))
                for o in page.get("Contents", [])
            ]
    except StorageError:
        raise
    except Exception as err:
        raise StorageError(store.problem(f"list {prefix or 'objects'}", err)) from None
    return found


def fetch(store: ObjectStore, name: str, dest: Path, *, if_match: str | None = None, chunk: int = CHUNK) -> Fetched:
    """Stream object ``name`` into ``dest`` ``chunk`` bytes at a time (never the whole object in memory),
    hashing as it goes. With ``if_match``, only that version: ``ObjectChangedError`` when the object was
    replaced. ``ObjectGoneError`` when there is none. ``dest`` may hold part of it after an error."""
    condition = {"IfMatch": if_match} if if_match else {}
    digest = hashlib.sha256()
    size = 0
    try:
        got = store.client.get_object(Bucket=store.where.bucket, Key=store.where.key(name), **condition)
        with dest.open("wb") as out:
            for block in got["Body"].iter_chunks(chunk):
                digest.update(block)
                out.write(block)
                size += len(block)
    except (StorageError, OSError):
        raise
    except Exception as err:
        code = _code(err)
        if code in _PRECONDITION:
            raise ObjectChangedError(store.scrub(f"storage {store.where.url}: {name} was replaced")) from None
        if code in _MISSING:
            raise ObjectGoneError(store.scrub(f"storage {store.where.url}: {name} is gone")) from None
        raise StorageError(store.problem(f"download {name}", err)) from None
    return Fetched(str(got["ETag"]), size, digest.hexdigest())
