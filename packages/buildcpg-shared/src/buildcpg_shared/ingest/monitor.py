"""CSVMonitor: the Check step's view of a lab's raw folder, holding back files still being written.

A file counts as still being written when its size or mtime moves between two stats taken
``interval`` seconds apart, or when it was modified less than ``settle`` seconds ago (the source's
``settle`` in lab.yaml wins over the monitor's default, for writers that pause). Partial names
(``.part``, ``.tmp``, dot-files) are never picked up (see ``ingest.check``). Only new or changed
files are looked at twice, and only those modified in the last ``quiet`` seconds: a file nobody has
written to for that long is complete, so a run over files dropped earlier does not wait at all.
"""

from __future__ import annotations

import time
from pathlib import Path

from buildcpg_shared.config import LabConfig
from buildcpg_shared.ingest.check import CheckResult, RawFile, scan
from buildcpg_shared.ingest.ledger import LedgerEntry


class CSVMonitor:
    """Finds new, changed and removed raw files of one lab, skipping incomplete ones."""

    def __init__(
        self, raw_dir: Path, config: LabConfig, *, interval: float = 0.2, settle: float = 0.0, quiet: float = 1.0
    ) -> None:
        self.raw_dir = raw_dir
        self.config = config
        self.interval = interval
        self.settle = settle
        self.quiet = quiet

    def _settle(self, raw: RawFile) -> float:
        source = self.config.sources.get(raw.source)
        return source.settle if source is not None and source.settle is not None else self.settle

    def unsettled(self, files: list[RawFile]) -> set[str]:
        """Relative paths of the files that are still being written."""
        now_ns = time.time_ns()
        recent = [raw for raw in files if now_ns - raw.mtime_ns < max(self.quiet, self._settle(raw)) * 1e9]
        if recent and self.interval > 0:  # only files written to lately can still be moving
            time.sleep(self.interval)
        now_ns = time.time_ns()
        moving: set[str] = set()
        for raw in recent:
            try:
                stat = raw.path.stat()
            except FileNotFoundError:
                moving.add(raw.rel)
                continue
            moved = (stat.st_size, stat.st_mtime_ns) != (raw.size, raw.mtime_ns)
            settle = self._settle(raw)
            fresh = settle > 0 and now_ns - stat.st_mtime_ns < settle * 1e9
            if moved or fresh:
                moving.add(raw.rel)
        return moving

    def check(self, ledger: dict[str, LedgerEntry]) -> CheckResult:
        """Compare the folder with the ledger; files still being written land in ``in_progress``."""
        return scan(self.raw_dir, self.config, ledger, hold=self.unsettled)
