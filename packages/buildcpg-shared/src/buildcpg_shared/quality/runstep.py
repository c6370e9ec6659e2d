"""The quality part of the runner's Inspect step: score, store, compare with the threshold.

Three cases (docs/quality.md, "When the score is computed"):

* dbt tested this run: score it from the artifacts and data; a failed Transform or Test gates it to 0;
* Transform or Test failed before dbt produced results: store a gated score (0) carrying the last parts;
* dbt was skipped (nothing new): carry the last score and its test outcome forward (warn stays warn).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import duckdb

from buildcpg_shared.config.lab_config import LabConfig
from buildcpg_shared.quality import store
from buildcpg_shared.quality.artifacts import DbtArtifacts
from buildcpg_shared.quality.monitors import MonitorResult, run_monitors
from buildcpg_shared.quality.score import PART_NAMES, QualityPart, QualityScore, score_lab

GATING_STEPS = ("transform", "test")


@dataclass
class RunQuality:
    """What the quality part tells the Inspect step; the pipeline applies it to its own step result.

    ``note`` is appended to Inspect's detail, ``data`` is the run's quality entry (None: no score yet),
    ``status`` is what the quality asks for: ``failed`` (below the threshold, or carried failing tests)
    fails Inspect; ``warn`` (carried warnings) turns an ok Inspect into a warn.
    """

    note: str = ""
    data: dict[str, Any] | None = None
    status: Literal["ok", "warn", "failed"] = "ok"


def run_gate(failed_steps: Iterable[str]) -> str:
    """Why this run's score cannot pass ("transform failed"), or "" when Transform and Test did not fail."""
    failed = [name for name in GATING_STEPS if name in set(failed_steps)]
    return f"{' and '.join(failed)} failed" if failed else ""


def score_run(
    con: duckdb.DuckDBPyConnection,
    config: LabConfig,
    run_id: str,
    artifacts: DbtArtifacts | None,
    gold_tables: list[str],
    failed_steps: Iterable[str] = (),
) -> RunQuality:
    """Score this run (``failed_steps``: the run's earlier failed steps); a score below ``quality.min_score``
    asks Inspect to fail.

    A gated score (0 because Transform or Test failed) asks nothing of Inspect: the failed step
    already fails the run, and the 'failed' incident, not a second 'quality' one, covers it.
    """
    store.ensure_tables(con)
    gate = run_gate(failed_steps)
    if artifacts is None and not gate:
        return _carry(con, config)
    monitors: MonitorResult | None = None
    if artifacts is None:
        score = _gated_carry(con, config, gate)
    else:
        window = config.quality.volume.window
        previous = {s: store.recent_row_counts(con, s, window) for s in [store.LAB_SCOPE, *gold_tables]}
        monitors = run_monitors(con, config.monitors, run_id) if config.monitors and not gate else None
        score = score_lab(con, config, artifacts, gold_tables, previous, run_id=run_id, gate=gate, monitors=monitors)
        store.record_artifacts(con, run_id, artifacts)
    store.record_score(con, run_id, score)
    quality = RunQuality(data=score.to_dict())
    threshold = config.quality.min_score
    flagged = [p.name for p in score.parts if p.flagged]
    quality.note = f"; quality {score.score:.1f}/100 (threshold {threshold:g})"
    if flagged:
        quality.note += f", flagged: {', '.join(flagged)}"
    if score.gate:  # the run fails already (Transform or Test); Inspect itself did its job
        quality.note += f": 0 because {score.gate} (the parts alone would give {score.weighted:.1f})"
    elif not score.passed:
        quality.status = "failed"
        weakest = min((p for p in score.parts if p.value is not None), key=lambda p: p.value or 0.0)
        quality.note += f": below the threshold; weakest part {weakest.name} ({weakest.detail})"
    if monitors is not None and monitors.anomalies and config.monitors and not score.gate:
        # an anomaly alerts like a failed test: Inspect fails (the run fails, the 'failed' incident opens)
        shown = "; ".join(a.describe() for a in monitors.anomalies[:3])
        more = len(monitors.anomalies) - 3
        quality.note += f"; column anomaly: {shown}" + (f" (+{more} more)" if more > 0 else "")
        if config.monitors.severity == "error":
            quality.status = "failed"
        elif quality.status == "ok":
            quality.status = "warn"
    if quality.data is not None and monitors is not None:
        quality.data["monitors"] = monitors.to_dict()
    return quality


def _gated_carry(con: duckdb.DuckDBPyConnection, config: LabConfig, gate: str) -> QualityScore:
    """A gated score for a run dbt could not test: the last stored parts (or n/a parts), score 0."""
    latest = store.latest(con)
    last = latest.get(store.LAB_SCOPE)
    if last is None:
        weights = config.quality.weights.model_dump()
        parts = [QualityPart(n, weights[n], None, f"not measured: {gate}") for n in PART_NAMES]
        why = f"{gate} (no earlier score)"
    else:
        parts = [QualityPart(**p) for p in last["parts"]]
        why = f"{gate} (parts carried from run {last['run_id']})"
    tables = {
        scope: QualityScore(scope, [QualityPart(**p) for p in entry["parts"]], threshold=entry["threshold"])
        for scope, entry in latest.items()
        if scope != store.LAB_SCOPE
    }
    return QualityScore(store.LAB_SCOPE, parts, threshold=config.quality.min_score, tables=tables, gate=why)


def _carry(con: duckdb.DuckDBPyConnection, config: LabConfig) -> RunQuality:
    """Nothing was tested this run: the last score, its parts and its test outcome carry forward.

    A warn of the last tests stays a warn (the data it warned about is still there); a stored
    score below the threshold still fails the run. Nothing is written: the run stays cheap.
    """
    last = store.latest(con).get(store.LAB_SCOPE)
    if last is None:
        return RunQuality()
    threshold = config.quality.min_score
    source = str(last["run_id"])
    outcome = store.outcome_counts(con, source)
    quality = RunQuality(data=_carried_entry(last, threshold))
    tests = next((p["detail"] for p in last["parts"] if p["name"] == "tests"), "")
    quality.note = f"; quality {last['score']:.1f}/100 carried from run {source} (nothing new to test)"
    if tests:
        quality.note += f", tests: {tests}"
    if last["score"] < threshold:
        quality.status = "failed"
        quality.note += f", below the threshold {threshold:g}"
    elif any(outcome.get(s) for s in ("fail", "error", "runtime error")):
        quality.status = "failed"
    elif outcome.get("warn"):
        quality.status = "warn"
    return quality


def _carried_entry(last: dict[str, Any], threshold: float) -> dict[str, Any]:
    """The stored lab entry as this run's quality data, saying where it comes from."""
    entry = {k: v for k, v in last.items() if k != "scored_at"}
    entry.update(threshold=threshold, passed=last["score"] >= threshold, carried_from=str(last["run_id"]))
    return entry
