"""The steps of a lab run, one module each; ``pipeline.runner`` sequences them.

Each step takes what it needs, returns its ``StepRecord`` and says intermediate lines through the
run's reporter; the runner finishes (records, prints, emits) every result.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from buildcpg_shared.pipeline.reporter import RunReporter
from buildcpg_shared.registry import Lab, Workspace
from buildcpg_shared.store import SharedGold


@dataclass
class StepContext:
    """What every step of one run shares: the lab, the run's one connection, its id and its reporter."""

    lab: Lab
    con: duckdb.DuckDBPyConnection
    run_id: str
    reporter: RunReporter


def shared_gold(lab: Lab) -> SharedGold | None:
    """Published gold on object storage when ``shared.storage`` is set (buildcpg.yaml or
    ``BUILDCPG_STORAGE``), else None: the embedded default."""
    settings = Workspace(lab.paths.root.parent.parent).shared
    if not settings.storage:
        return None
    return SharedGold.from_url(settings.storage, settings.keep_versions)
