"""Check: which raw files are new, changed, unchanged or removed, in one cheap pass.

Stat first; a file is hashed only when its size or mtime differ from the ledger, so a run over
thousands of unchanged files reads no file content.
"""

from __future__ import annotations

import hashlib
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


def scan(raw_dir: Path, config: LabConfig, ledger: dict[str, LedgerEntry]) -> CheckResult:
    """Match files under ``raw_dir`` to sources and compare them with the ledger."""
    result = CheckResult()
    seen: dict[str, str] = {}
    for source_name, source in config.sources.items():
        for path in sorted(raw_dir.glob(source.files)):
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
            if known is None or known.source != source_name:
                result.new.append(_hashed(raw))
            elif known.size == raw.size and known.mtime_ns == raw.mtime_ns:
                result.unchanged.append(raw)
            else:
                hashed = _hashed(raw)
                if hashed.sha256 == known.sha256:
                    result.touched.append(hashed)
                else:
                    result.changed.append(hashed)
    result.removed = [entry for rel, entry in sorted(ledger.items()) if rel not in seen]
    return result


def _hashed(raw: RawFile) -> RawFile:
    return RawFile(raw.source, raw.path, raw.rel, raw.size, raw.mtime_ns, file_sha256(raw.path))
