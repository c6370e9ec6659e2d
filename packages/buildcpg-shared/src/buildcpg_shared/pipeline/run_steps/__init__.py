"""The steps of a lab run, one module each; ``pipeline.runner`` sequences them.

Each step takes what it needs, returns its ``StepRecord`` and says intermediate lines through the
run's reporter; the runner finishes (records, prints, emits) every result.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from buildcpg_shared.pipeline.reporter import RunReporter
from buildcpg_shared.registry import Lab


@dataclass
class StepContext:
    """What every step of one run shares: the lab, the run's one connection, its id and its reporter."""

    lab: Lab
    con: duckdb.DuckDBPyConnection
    run_id: str
    reporter: RunReporter
