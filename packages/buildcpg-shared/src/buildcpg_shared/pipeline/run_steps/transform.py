"""Transform (dbt seed + run) and Test (dbt test + source freshness), through one dbt session."""

from __future__ import annotations

import duckdb

from buildcpg_shared.config.lab_config import GoldConfig
from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.pipeline.dbt_invoke import DbtOutcome, DbtSession
from buildcpg_shared.pipeline.gold_views import gold_models, refresh_gold_views
from buildcpg_shared.pipeline.steps import StepResult, timed
from buildcpg_shared.quality import DbtArtifacts, read_artifacts


def run_transform(
    session: DbtSession,
    *,
    full_refresh: bool = False,
    con: duckdb.DuckDBPyConnection | None = None,
    gold: GoldConfig | None = None,
) -> StepResult:
    """The Transform step: seeds first (an adopted dbt project may select from them), then the models;
    then, when lab.yaml names the gold models (``gold: select:``), a view ``gold.<model>`` over each."""
    result = StepResult("transform")
    with timed(result):
        extra = ["--full-refresh"] if full_refresh else []
        seeded = session.command(["seed"], extra) if session.has_seeds() else None
        if seeded is not None and (not seeded.success or seeded.failures):  # a failed seed stops here
            outcome = seeded
        else:
            outcome = session.command(["run"], extra)
        apply_outcome(result, outcome, "model(s)")
        if gold is not None and con is not None and result.status != "failed":  # pipeline/gold_views.py
            try:
                views = refresh_gold_views(con, gold_models(session.select_models(gold.select), gold.select))
                result.detail += f"; gold: {len(views)} model(s)"
            except BuildCPGError as err:
                result.status, result.detail = "failed", f"{result.detail}; {err}"
    return result


def run_test(session: DbtSession) -> tuple[StepResult, DbtArtifacts | None]:
    """The Test step and the artifacts of its ``dbt test`` (None when dbt produced no test results)."""
    result = StepResult("test")
    artifacts: DbtArtifacts | None = None
    with timed(result):
        tests = session.command(["test"])
        fresh = session.command(["source", "freshness"])
        apply_outcome(result, tests, "test(s)")
        result.data["freshness"] = fresh.counts
        try:  # only when dbt test produced results: else run_results.json is an older command's
            artifacts = read_artifacts(session.paths.dbt_dir / "target") if tests.counts else None
        except BuildCPGError as err:
            result.status = "failed"
            result.detail += f"; {err}"
        if not fresh.success or fresh.failures:
            result.status = "failed"
            result.detail += f"; freshness: {', '.join(fresh.failures) or 'failed'}"
        elif fresh.counts.get("warn"):
            result.status = "warn" if result.status == "ok" else result.status
            result.detail += f"; {fresh.counts['warn']} source(s) stale (warn)"
    return result, artifacts


def apply_outcome(result: StepResult, outcome: DbtOutcome, noun: str) -> None:
    """A dbt command's counts, rows and failures as the step's detail, data and status."""
    total = sum(outcome.counts.values())
    summary = ", ".join(f"{n} {k}" for k, n in sorted(outcome.counts.items()))
    result.detail = f"{total} {noun}: {summary}" if total else f"0 {noun}"
    result.data = {"counts": outcome.counts, "failures": outcome.failures}
    if outcome.rows:
        result.rows = outcome.rows
    if not outcome.success or outcome.failures:
        result.status = "failed"
        result.detail += f"; {'; '.join(outcome.failures[:3]) or 'dbt failed (see output above)'}"
    elif outcome.counts.get("warn"):
        result.status = "warn"
