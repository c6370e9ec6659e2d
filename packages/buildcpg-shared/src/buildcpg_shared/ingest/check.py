"""Check: which raw files are new, changed, unchanged or removed, in one cheap pass.

Stat first; a file is hashed only when its size or mtime differ from the ledger, so a run over
thousands of unchanged files reads no file content. An optional ``hold`` callback (see
``ingest.monitor.CSVMonitor``) gets the candidates before hashing and names those still being
written: they are reported as ``in_progress`` and left for a later run.

A path that matches a source's glob but cannot be read (a directory or FIFO named like a CSV, a
dangling symlink, a permission or I/O error) is reported in ``unreadable`` with one line naming it;
the other files are planned as usual, so one bad entry never stops the lab.

The header (first line) of every new or changed file is checked against the contract with the
code Load uses (``ingest.headers``): a mismatch is listed in ``invalid`` with the very line Load
will refuse the file with, so ``buildcpg check`` and the Check step never pass it as new.

Raw inputs stay inside the lab's raw folder: a symlink (or a symlinked folder) whose target
resolves outside ``data/raw`` is refused the same way, before anything opens it, so no byte of the
target is read, hashed or quoted in an error. A symlink to another file inside ``data/raw`` loads.

A source with a completion ``marker`` (``{name}.ok`` beside each file, or ``_SUCCESS`` in its
folder) loads a new or changed file only once its marker exists; until then the file is listed in
``waiting``. Marker files themselves are never loaded.

A source whose ``files:`` is an ``s3://`` glob is listed instead (``ingest.s3_raw``): an object is new,
changed or unchanged by its ETag against the ledger, with no byte of it read; its ``rel`` is its URL.
A listing that fails (storage unreachable, credentials refused, no bucket) is one line in
``unreadable``, and that source's loaded objects are not reported removed.
"""

from __future__ import annotations

import hashlib
import os
import stat as stat_module
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath

from buildcpg_shared.config import LabConfig, SourceConfig
from buildcpg_shared.errors import BuildCPGError, ConfigError, LoadError
from buildcpg_shared.ingest.headers import check_header
from buildcpg_shared.ingest.ledger import LedgerEntry
from buildcpg_shared.ingest.s3_raw import download_path, list_source

PARTIAL_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")


@dataclass(frozen=True)
class RawFile:
    """A raw file matched to its source: on disk (``rel`` under data/raw), or an object on storage
    (``rel`` its ``s3://`` URL, ``etag`` its version, ``path`` where Load streams it to)."""

    source: str
    path: Path
    rel: str
    size: int
    mtime_ns: int
    sha256: str = ""
    etag: str = ""


@dataclass(frozen=True)
class Unreadable:
    """A path matching a source's glob that cannot be read, with its one-line reason."""

    source: str
    rel: str
    line: str


@dataclass
class CheckResult:
    """The plan for the Load step."""

    new: list[RawFile] = field(default_factory=list)
    changed: list[RawFile] = field(default_factory=list)
    unchanged: list[RawFile] = field(default_factory=list)
    touched: list[RawFile] = field(default_factory=list)
    removed: list[LedgerEntry] = field(default_factory=list)
    in_progress: list[RawFile] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)
    invalid: list[Unreadable] = field(default_factory=list)  # pending, but Load will refuse them: this line
    waiting: list[RawFile] = field(default_factory=list)  # complete only once their marker exists
    arrival: dict[str, int] = field(default_factory=dict)  # after --full-refresh: the order files came in

    @property
    def pending(self) -> list[RawFile]:
        """Files the Load step must (re)load, in a stable order: by source, then in the order they
        arrived before a --full-refresh (files new since then last), then by name."""
        last = len(self.arrival)
        return sorted(self.new + self.changed, key=lambda f: (f.source, self.arrival.get(f.rel, last), f.rel))


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """Content hash of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _is_partial(path: PurePath) -> bool:
    return path.name.startswith(".") or path.name.lower().endswith(PARTIAL_SUFFIXES)


def _not_a_file(path: Path, mode: int) -> str:
    """Why a path that is not a regular file cannot be loaded."""
    if stat_module.S_ISDIR(mode):
        return "is a directory, not a file"
    return "is not a regular file (a FIFO, socket or device)"


def escape_problem(path: Path, rel: str) -> str:
    """The one line refusing a raw path that leads out of ``data/raw`` through a symlink, or ''.

    Only a path with a symlink on the way is resolved (one ``lstat`` per part of ``rel`` otherwise).
    """
    depth = rel.count("/")
    folder = os.fspath(path)
    linked = os.path.islink(folder)
    for _ in range(depth):
        folder = os.path.dirname(folder)
        linked = os.path.islink(folder) or linked
    if not linked:
        return ""
    raw_dir = path.parents[depth]
    if Path(os.path.realpath(path)).is_relative_to(os.path.realpath(raw_dir)):
        return ""
    if os.path.islink(path):
        return f"data/raw/{rel} is a symlink to a file outside data/raw: not loaded"
    parts = PurePosixPath(rel).parts
    first = next(i for i in range(1, depth + 1) if raw_dir.joinpath(*parts[:i]).is_symlink())
    folder_rel = "/".join(parts[:first])
    return f"data/raw/{rel} is in data/raw/{folder_rel}, a symlink to a folder outside data/raw: not loaded"


def _entry_problem(path: Path) -> tuple[os.stat_result | None, str]:
    """The stat of a matched path, or the one-line problem that keeps it from being read."""
    try:
        found = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            return None, f"is a symlink to a missing file ({os.readlink(path)})"
        return None, ""  # gone since the glob: the next scan sees it as it is then
    except OSError as err:
        return None, f"cannot be read: {err.strerror or err}"
    if not stat_module.S_ISREG(found.st_mode):
        return None, _not_a_file(path, found.st_mode)
    return found, ""


def marker_path(path: Path, source: SourceConfig) -> Path | None:
    """The completion marker that must exist before ``path`` is loaded (None: the source has none)."""
    if source.marker is None:
        return None
    return path.with_name(source.marker.format(name=path.name, stem=path.stem))


def _is_marker(path: Path, source: SourceConfig) -> bool:
    if source.marker is None:
        return False
    if "{" not in source.marker:
        return path.name == source.marker
    prefix, _, suffix = source.marker.replace("{stem}", "{name}").partition("{name}")
    return len(path.name) > len(prefix) + len(suffix) and path.name.startswith(prefix) and path.name.endswith(suffix)


HoldCallback = Callable[[list[RawFile]], set[str]]


def scan(
    raw_dir: Path, config: LabConfig, ledger: dict[str, LedgerEntry], *, hold: HoldCallback | None = None
) -> CheckResult:
    """Match files under ``raw_dir`` to sources and compare them with the ledger."""
    result = CheckResult()
    seen: dict[str, str] = {}
    candidates: list[tuple[RawFile, LedgerEntry | None]] = []
    unlisted: set[str] = set()  # sources on storage whose listing failed
    for source_name, source in config.sources.items():
        if source.remote:
            if not _scan_objects(raw_dir.parent, source_name, source, ledger, result, seen):
                unlisted.add(source_name)
            continue
        for path in sorted(raw_dir.glob(source.file_glob(source_name))):
            if _is_partial(path) or _is_marker(path, source):
                continue
            rel = path.relative_to(raw_dir).as_posix()
            if source.type != "http" and rel.split("/")[0] == "_http":
                continue  # the HTTP sources' landing folder, matched by a broad glob like "*"
            if rel in seen:
                raise ConfigError(
                    f"data/raw/{rel} matches the globs of sources {seen[rel]!r} and {source_name!r}; "
                    "make the 'files' patterns in lab.yaml disjoint"
                )
            seen[rel] = source_name
            escaped = escape_problem(path, rel)
            if escaped:
                result.unreadable.append(Unreadable(source_name, rel, escaped))
                continue
            stat, problem = _entry_problem(path)
            if stat is None:
                if problem:
                    result.unreadable.append(Unreadable(source_name, rel, f"data/raw/{rel}: {problem}"))
                else:
                    del seen[rel]
                continue
            raw = RawFile(source_name, path, rel, stat.st_size, stat.st_mtime_ns)
            known = ledger.get(rel)
            if (
                known is not None
                and known.source == source_name
                and (known.size, known.mtime_ns)
                == (
                    raw.size,
                    raw.mtime_ns,
                )
            ):
                result.unchanged.append(raw)
            else:
                candidates.append((raw, known if known is not None and known.source == source_name else None))
    complete: list[tuple[RawFile, LedgerEntry | None]] = []
    for raw, known in candidates:
        marker = marker_path(raw.path, config.sources[raw.source])
        if marker is not None and not marker.exists():
            result.waiting.append(raw)
        else:
            complete.append((raw, known))
    candidates = complete
    held = hold([raw for raw, _ in candidates]) if hold and candidates else set()
    for raw, known in candidates:
        if raw.rel in held:
            result.in_progress.append(raw)
            continue
        try:
            hashed = _hashed(raw)
        except FileNotFoundError:  # renamed or deleted since the stat: the next scan sees it as it is then
            continue
        except OSError as err:
            result.unreadable.append(
                Unreadable(raw.source, raw.rel, f"data/raw/{raw.rel}: cannot be read: {err.strerror or err}")
            )
            continue
        header = _header_problem(hashed, config.sources[raw.source])
        if header:
            result.invalid.append(Unreadable(raw.source, raw.rel, header))
        if known is None:
            result.new.append(hashed)
        elif hashed.sha256 == known.sha256:
            result.touched.append(hashed)
        else:
            result.changed.append(hashed)
    result.removed = [
        entry for rel, entry in sorted(ledger.items()) if rel not in seen and entry.source not in unlisted
    ]
    return result


def _scan_objects(
    data_dir: Path,
    source_name: str,
    source: SourceConfig,
    ledger: dict[str, LedgerEntry],
    result: CheckResult,
    seen: dict[str, str],
) -> bool:
    """Plan the objects of a source on storage by their ETags; False when the listing failed."""
    try:
        listed = list_source(source_name, source.files)
    except BuildCPGError as err:
        result.unreadable.append(Unreadable(source_name, source.files, str(err)))
        return False
    for obj in listed:
        if _is_partial(PurePosixPath(obj.name)):
            continue
        if obj.url in seen:
            raise ConfigError(
                f"{obj.url} matches the globs of sources {seen[obj.url]!r} and {source_name!r}; "
                "make the 'files' patterns in lab.yaml disjoint"
            )
        seen[obj.url] = source_name
        raw = RawFile(source_name, download_path(data_dir, obj.url), obj.url, obj.size, obj.modified_ns, "", obj.etag)
        known = ledger.get(obj.url)
        if known is None or known.source != source_name:
            result.new.append(raw)
        elif known.etag == obj.etag:
            result.unchanged.append(raw)
        else:
            result.changed.append(raw)
    return True


def _header_problem(raw: RawFile, source: SourceConfig) -> str:
    """The line Load would refuse the file with for its header (first line only), or ''."""
    try:
        check_header(raw.path, raw.rel, raw.source, source)
    except LoadError as err:
        return str(err)
    return ""


def _hashed(raw: RawFile) -> RawFile:
    return RawFile(raw.source, raw.path, raw.rel, raw.size, raw.mtime_ns, file_sha256(raw.path))
