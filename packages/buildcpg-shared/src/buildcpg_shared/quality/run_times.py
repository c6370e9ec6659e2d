"""dbt's ``run_results.json`` of each run, kept per run id so model run times can be followed across runs.

A run that built (``dbt build``, or ``dbt run`` alone) copies the kept file of that command to
``data/.buildcpg_run_results/<UTC time>_<run id>.json``; names sort by time, and only the newest
``KEEP_RUNS`` files stay.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from buildcpg_shared.node_errors import kept_run_results

KEEP_RUNS = 60


def kept_file_name(run_id: str, at: datetime) -> str:
    """``20261207T063000Z_<run id>.json``: sorts by the run's time."""
    return f"{at.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}_{run_id}.json"


def keep_run_times(target: Path, kept_dir: Path, run_id: str, since: float, keep: int = KEEP_RUNS) -> Path | None:
    """Copy this run's ``run_results`` (the build's, else the run's, written at or after ``since``, a
    ``time.time()``) into ``kept_dir``, then prune to the newest ``keep``; never fails the run."""
    written = [
        p
        for p in (kept_run_results(target, "build"), kept_run_results(target, "run"))
        if p.is_file() and p.stat().st_mtime >= since - 1.0  # coarse file clocks: a dbt command takes longer
    ]
    if not written:
        return None
    with contextlib.suppress(OSError):
        kept_dir.mkdir(parents=True, exist_ok=True)
        dest = kept_dir / kept_file_name(run_id, datetime.now(UTC))
        shutil.copyfile(max(written, key=lambda p: p.stat().st_mtime_ns), dest)
        for old in sorted(kept_dir.glob("*.json"))[:-keep] if keep > 0 else []:
            old.unlink(missing_ok=True)
        return dest
    return None


def kept_runs(kept_dir: Path, last: int) -> list[tuple[str, datetime, list[dict[str, Any]]]]:
    """The newest ``last`` kept runs, oldest first: (run id, time, dbt's results); unreadable files left out."""
    out = []
    for path in sorted(kept_dir.glob("*.json"))[-last:] if kept_dir.is_dir() else []:
        stamp, _, run_id = path.stem.partition("_")
        try:
            at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            results = json.loads(path.read_text(encoding="utf-8")).get("results") or []
        except (OSError, ValueError, AttributeError):
            continue
        out.append((run_id, at, [r for r in results if isinstance(r, dict)]))
    return out
