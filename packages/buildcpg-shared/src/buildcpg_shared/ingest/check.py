"""Check: which raw files are new, changed, unchanged or removed, in one cheap pass.

Stat first; a file is hashed only when its size or mtime differ from the ledger, so a run over
thousands of unchanged files reads no file content. An optional ``hold`` callback (see
``ingest.monitor.CSVMonitor``) gets the candidates before hashing and names those still being
written: they are reported as ``in_progress`` and left for a later run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from buildcpg_shared.config import LabConfig
from buildcpg_shared.errors import ConfigError
from buildcpg_shared.ingest.ledger import LedgerEntry

PARTIAL_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")


@dataclass(frozen=True)
class RawFile:
    """A raw file on disk matched to its source."""

    source: str
    path: Path
    rel: str
    size: int
    mtime_ns: int
    sha256: str = ""


@dataclass
class CheckResult:
    """The plan for the Load step."""

    new: list[RawFile] = field(default_factory=list)
    changed: list[RawFile] = field(default_factory=list)
    unchanged: list[RawFile] = field(default_factory=list)
    touched: list[RawFile] = field(default_factory=list)
    removed: list[LedgerEntry] = field(default_factory=list)
    in_progress: list[RawFile] = field(default_factory=list)

    @property
    def pending(self) -> list[RawFile]:
        """Files the Load step must (re)load, in a stable order."""
        return sorted(self.new + self.changed, key=lambda f: (f.source, f.rel))


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """Content hash of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _is_partial(path: Path) -> bool:
    return path.name.startswith(".") or path.name.lower().endswith(PARTIAL_SUFFIXES)


HoldCallback = Callable[[list[RawFile]], set[str]]


def scan(
    raw_dir: Path, config: LabConfig, ledger: dict[str, LedgerEntry], *, hold: HoldCallback | None = None
) -> CheckResult:
    """Match files under ``raw_dir`` to sources and compare them with the ledger."""
    result = CheckResult()
    seen: dict[str, str] = {}
    candidates: list[tuple[RawFile, LedgerEntry | None]] = []
    for source_name, source in config.sources.items():
        for path in sorted(raw_dir.glob(source.file_glob(source_name))):
            if not path.is_file() or _is_partial(path):
                continue
            rel = path.relative_to(raw_dir).as_posix()
            if rel in seen:
                raise ConfigError(
                    f"data/raw/{rel} matches the globs of sources {seen[rel]!r} and {source_name!r}; "
                    "make the 'files' patterns in lab.yaml disjoint"
                )
            seen[rel] = source_name
            stat = path.stat()
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
    held = hold([raw for raw, _ in candidates]) if hold and candidates else set()
    for raw, known in candidates:
        if raw.rel in held:
            result.in_progress.append(raw)
            continue
        try:
            hashed = _hashed(raw)
        except FileNotFoundError:  # renamed or deleted since the stat: the next scan sees it as it is then
            continue
        if known is None:
            result.new.append(hashed)
        elif hashed.sha256 == known.sha256:
            result.touched.append(hashed)
        else:
            result.changed.append(hashed)
    result.removed = [entry for rel, entry in sorted(ledger.items()) if rel not in seen]
    return result


def _hashed(raw: RawFile) -> RawFile:
    return RawFile(raw.source, raw.path, raw.rel, raw.size, raw.mtime_ns, file_sha256(raw.path))
