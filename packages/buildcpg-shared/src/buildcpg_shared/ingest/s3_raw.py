"""Raw drops on storage: a source whose ``files:`` is an ``s3://bucket/prefix/*.csv`` glob.

Check lists the matching objects (every page) with their ETags, reading no byte of them: the ledger
keys each object by its ``s3://`` URL and ETag, so it is new, changed (another ETag) or unchanged.
Load streams each new or changed object to a temporary file under the lab's ``data/.buildcpg-s3/``
(chunk by chunk, never whole in memory; removed afterwards, also on failure) and loads that file with
the very code a local file goes through (``ingest.load``). Objects are only read: never changed or
deleted. Endpoint and credentials come from the standard AWS env vars (``store.ObjectStore``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from buildcpg_shared.config.s3_glob import SCHEME, S3Glob
from buildcpg_shared.errors import ObjectChangedError, ObjectGoneError, StorageError, os_problem
from buildcpg_shared.store.client import ObjectStore
from buildcpg_shared.store.objects import fetch, list_objects

DOWNLOADS = ".buildcpg-s3"  # under the lab's data/ (git-ignored with data/.buildcpg*)
_AWS_VARS = ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
_stores: dict[tuple[str, ...], ObjectStore] = {}


def is_object(rel: str) -> bool:
    """Is a raw file's name (a ledger ``file``, ``_source_file``) an object's ``s3://`` URL?"""
    return rel.startswith(SCHEME)


def raw_name(rel: str) -> str:
    """How a raw file is named in a message: ``data/raw/<rel>``, or an object's ``s3://`` URL."""
    return rel if is_object(rel) else f"data/raw/{rel}"


@dataclass(frozen=True)
class SourceObject:
    """One object of a source as the listing shows it."""

    url: str
    etag: str
    size: int
    modified_ns: int

    @property
    def name(self) -> str:
        """The last part of its key (``orders_1.csv``)."""
        return PurePosixPath(self.url).name


@dataclass(frozen=True)
class Downloaded:
    """An object streamed to a local file: which version (the GET's ETag), its size and hash, and
    whether it was replaced since it was listed (then the version there now was downloaded)."""

    path: Path
    etag: str
    size: int
    sha256: str
    replaced: bool


def _store(bucket: str, env: Mapping[str, str] | None) -> ObjectStore:
    """One client per bucket and AWS settings (a boto3 client costs ~0.1 s to build)."""
    env = os.environ if env is None else env
    key = (bucket, *(env.get(var, "") for var in (*_AWS_VARS, "AWS_SESSION_TOKEN")))
    if key not in _stores:
        _stores[key] = ObjectStore(f"{SCHEME}{bucket}", env)
    return _stores[key]


def _why(store: ObjectStore, doing: str, err: StorageError) -> str:
    """The reason of a store's one-line error, without its ``storage s3://bucket: cannot …:`` head."""
    return str(err).removeprefix(f"storage {store.where.url}: ").removeprefix(f"cannot {doing}: ")


def list_source(name: str, files: str, env: Mapping[str, str] | None = None) -> list[SourceObject]:
    """Every object matching a source's ``s3://`` glob (paginated), sorted by URL.

    ``StorageError`` of one line naming the source and the glob: bucket unreachable, credentials
    refused, no such bucket, access denied."""
    glob = S3Glob.parse(files)
    store = _store(glob.bucket, env)
    prefix = glob.list_prefix
    try:
        listed = list_objects(store, prefix)
    except StorageError as err:
        why = _why(store, f"list {prefix or 'objects'}", err)
        raise StorageError(f"source {name}: cannot list {glob.url}: {why}") from None
    found = [
        SourceObject(glob.object_url(o.name), o.etag, o.size, o.modified_ns)
        for o in listed
        if not o.name.endswith("/") and glob.matches(o.name)
    ]
    return sorted(found, key=lambda o: o.url)


def download_path(data_dir: Path, url: str) -> Path:
    """Where Load streams object ``url`` to: ``data/.buildcpg-s3/<hash of the URL>-<its name>``."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return data_dir / DOWNLOADS / f"{digest}-{PurePosixPath(url).name[-120:]}"  # a file name fits any disk


@contextmanager
def downloaded(url: str, etag: str, dest: Path, env: Mapping[str, str] | None = None) -> Iterator[Downloaded]:
    """Object ``url`` streamed to ``dest`` for as long as the block runs; ``dest`` is removed afterwards,
    also when the download or the block fails.

    The GET asks for the listed version (``If-Match`` ``etag``). An object replaced since it was listed
    is downloaded as it is now, and its new ETag (the GET's own) is what the ledger records: what is
    loaded is what is recorded. Any fault (the object deleted since, storage unreachable): a
    ``StorageError`` of one line naming the object."""
    try:
        yield _fetch(url, etag, dest, env)
    finally:
        with suppress(OSError):  # nothing there to remove (no folder), or it cannot be: the next Load clears it
            dest.unlink(missing_ok=True)


def _fetch(url: str, etag: str, dest: Path, env: Mapping[str, str] | None) -> Downloaded:
    bucket, _, key = url.removeprefix(SCHEME).partition("/")  # any key a listing returned, taken as is
    store = _store(bucket, env)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            got, replaced = fetch(store, key, dest, if_match=etag or None), False
        except ObjectChangedError:
            got, replaced = fetch(store, key, dest), True
    except ObjectGoneError:
        raise StorageError(f"{url}: deleted since Check listed it; not loaded, its previous rows kept") from None
    except StorageError as err:
        raise StorageError(f"{url}: cannot download: {_why(store, f'download {key}', err)}") from None
    except OSError as err:
        raise StorageError(f"{url}: cannot download: could not write {os_problem(err, dest)}") from None
    return Downloaded(dest, got.etag, got.size, got.sha256, replaced)


def clear_downloads(data_dir: Path) -> None:
    """Remove what a killed run left in ``data/.buildcpg-s3/`` (one run per lab: nothing else uses it)."""
    shutil.rmtree(data_dir / DOWNLOADS, ignore_errors=True)
