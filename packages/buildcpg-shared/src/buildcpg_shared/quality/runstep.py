"""The quality part of the runner's Inspect step: score, store, compare with the threshold."""

from __future__ import annotations

import duckdb

from buildcpg_shared.config.lab_config import LabConfig
from buildcpg_shared.pipeline.steps import StepResult
from buildcpg_shared.quality import store
from buildcpg_shared.quality.artifacts import DbtArtifacts
from buildcpg_shared.quality.score import score_lab


def score_run(
    con: duckdb.DuckDBPyConnection,
    config: LabConfig,
    run_id: str,
    artifacts: DbtArtifacts | None,
    gold_tables: list[str],
    result: StepResult,
) -> None:
    """Score this run when dbt tested it; otherwise re-check the last score (cheap: one small query).

    A score below ``quality.min_score`` fails the step (and so the run).
    """
    store.ensure_tables(con)
    threshold = config.quality.min_score
    if artifacts is None:
        last = store.latest(con).get(store.LAB_SCOPE)
        if last is None:
            return
        result.detail += f"; quality {last['score']:.1f} (unchanged since run {last['run_id']})"
        result.data["quality"] = {"score": last["score"], "threshold": threshold, "run_id": last["run_id"]}
        if last["score"] < threshold:
            result.status = "failed"
            result.detail += f", below the threshold {threshold:g}"
        return
    window = config.quality.volume.window
    previous = {scope: store.recent_row_counts(con, scope, window) for scope in [store.LAB_SCOPE, *gold_tables]}
    score = score_lab(con, config, artifacts, gold_tables, previous)
    store.record_artifacts(con, run_id, artifacts)
    store.record_score(con, run_id, score)
    result.data["quality"] = score.to_dict()
    flagged = [p.name for p in score.parts if p.flagged]
    result.detail += f"; quality {score.score:.1f}/100 (threshold {threshold:g})"
    if flagged:
        result.detail += f", flagged: {', '.join(flagged)}"
    if not score.passed:
        result.status = "failed"
        weakest = min((p for p in score.parts if p.value is not None), key=lambda p: p.value or 0.0)
        result.detail += f": below the threshold; weakest part {weakest.name} ({weakest.detail})"
