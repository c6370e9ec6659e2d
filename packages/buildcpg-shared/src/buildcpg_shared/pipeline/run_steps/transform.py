"""Transform and Test, through one dbt session.

A run with both steps makes one ``dbt build`` pass (seeds, models and tests in dbt's order), then
``dbt source freshness``; its node results are split into the two steps (``run_build``). A run with
only one of them runs ``dbt seed`` + ``dbt run`` (Transform) or ``dbt test`` + freshness (Test).
"""

from __future__ import annotations

import time

import duckdb

from buildcpg_shared.config.lab_config import GoldConfig
from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.pipeline.dbt_invoke import TEST_KINDS, DbtOutcome, DbtSession
from buildcpg_shared.pipeline.gold_views import gold_models, refresh_gold_views
from buildcpg_shared.pipeline.steps import timed
from buildcpg_shared.quality import DbtArtifacts, read_artifacts
from buildcpg_shared.run_record import Status, StepRecord


def run_transform(
    session: DbtSession,
    *,
    full_refresh: bool = False,
    con: duckdb.DuckDBPyConnection | None = None,
    gold: GoldConfig | None = None,
) -> StepRecord:
    """The Transform step: seeds first (an adopted dbt project may select from them), then the models;
    then, when lab.yaml names the gold models (``gold: select:``), a view ``gold.<model>`` over each."""
    result = StepRecord("transform")
    with timed(result):
        extra = ["--full-refresh"] if full_refresh else []
        seeded = session.command(["seed"], extra) if session.has_seeds() else None
        if seeded is not None and (not seeded.success or seeded.failures):  # a failed seed stops here
            outcome = seeded
        else:
            outcome = session.command(["run"], extra)
        apply_outcome(result, outcome, "model(s)")
        _gold_views(result, session, con, gold)
    return result


def _gold_views(
    result: StepRecord, session: DbtSession, con: duckdb.DuckDBPyConnection | None, gold: GoldConfig | None
) -> None:
    """After a Transform that did not fail: a view ``gold.<model>`` over each model lab.yaml's ``gold:`` names."""
    if gold is not None and con is not None and result.status != Status.FAILED:  # pipeline/gold_views.py
        try:
            views = refresh_gold_views(con, gold_models(session.select_models(gold.select), gold.select))
            result.detail += f"; gold: {len(views)} model(s)"
        except BuildCPGError as err:
            result.status, result.detail = Status.FAILED, f"{result.detail}; {err}"


def run_build(
    session: DbtSession,
    *,
    full_refresh: bool = False,
    con: duckdb.DuckDBPyConnection | None = None,
    gold: GoldConfig | None = None,
) -> tuple[StepRecord, StepRecord, DbtArtifacts | None]:
    """Transform and Test in one ``dbt build``: (transform, test, artifacts of the tests or None).

    Seeds and models make the Transform step, tests the Test step, as if ``seed`` + ``run`` and ``test``
    had run apart. The build's wall time is shared between the two steps by their nodes' execution time;
    the gold views count to Transform, ``source freshness`` and reading the artifacts to Test. Models dbt
    skipped because a test upstream of them failed are named in Transform's detail. When Transform fails,
    Test is reported skipped and its tests are not scored, as when ``dbt test`` did not run after it.
    """
    transform, test = StepRecord("transform"), StepRecord("test")
    start = time.perf_counter()
    outcome = session.build(["--full-refresh"] if full_refresh else [])
    built_s = time.perf_counter() - start
    models = outcome.only(lambda kind: kind not in TEST_KINDS)
    tests = outcome.only(lambda kind: kind in TEST_KINDS)
    share = models.seconds / outcome.seconds if outcome.seconds > 0 else 1.0
    with timed(transform):
        _apply_models(transform, models, tests)
        _gold_views(transform, session, con, gold)
    transform.duration_s = round(transform.duration_s + built_s * share, 3)
    if transform.status == Status.FAILED:
        test.status = Status.SKIPPED
        test.detail = f"transform failed (the build's {sum(tests.counts.values())} test(s) are not scored)"
        test.duration_s = round(built_s * (1 - share), 3)
        return transform, test, None
    with timed(test):
        artifacts = _apply_tests(test, session, tests)
    test.duration_s = round(test.duration_s + built_s * (1 - share), 3)
    return transform, test, artifacts


def _apply_models(result: StepRecord, models: DbtOutcome, tests: DbtOutcome) -> None:
    """The Transform part of a build: models (rows, failures) and seeds, and the models dbt skipped."""
    seeds = models.only(lambda kind: kind == "seed")
    built = models.only(lambda kind: kind != "seed")
    apply_outcome(result, built, "model(s)")
    if seeds.nodes:
        result.detail += f"; {len(seeds.nodes)} seed(s)"
    if seeds.failures and result.status != Status.FAILED:  # a failed seed: its models were skipped, not failed
        result.status = Status.FAILED
        result.detail += f"; {'; '.join(seeds.failures[:3])}"
    skipped = [n.name for n in built.nodes if n.status == "skipped"]
    if skipped:
        why = "upstream test failed" if tests.failures and not models.failures else "upstream failed"
        result.detail += f"; {len(skipped)} skipped ({why}): {', '.join(skipped)}"


def run_test(session: DbtSession) -> tuple[StepRecord, DbtArtifacts | None]:
    """The Test step and the artifacts of its ``dbt test`` (None when dbt produced no test results)."""
    result = StepRecord("test")
    artifacts: DbtArtifacts | None = None
    with timed(result):
        artifacts = _apply_tests(result, session, session.command(["test"]))
    return result, artifacts


def _apply_tests(result: StepRecord, session: DbtSession, tests: DbtOutcome) -> DbtArtifacts | None:
    """The tests' outcome on the Test step, then ``dbt source freshness``; the artifacts (None: no tests ran)."""
    artifacts: DbtArtifacts | None = None
    fresh = session.command(["source", "freshness"])
    apply_outcome(result, tests, "test(s)")
    result.data["freshness"] = fresh.counts
    try:  # only when dbt produced test results: else run_results.json is an older command's
        artifacts = read_artifacts(session.paths.dbt_dir / "target") if tests.counts else None
    except BuildCPGError as err:
        result.status = Status.FAILED
        result.detail += f"; {err}"
    if not fresh.success or fresh.failures:
        result.status = Status.FAILED
        result.detail += f"; freshness: {', '.join(fresh.failures) or 'failed'}"
    elif fresh.counts.get("warn"):
        result.status = Status.WARN if result.status == Status.OK else result.status
        result.detail += f"; {fresh.counts['warn']} source(s) stale (warn)"
    return artifacts


def apply_outcome(result: StepRecord, outcome: DbtOutcome, noun: str) -> None:
    """A dbt command's counts, rows and failures as the step's detail, data and status."""
    total = sum(outcome.counts.values())
    summary = ", ".join(f"{n} {k}" for k, n in sorted(outcome.counts.items()))
    result.detail = f"{total} {noun}: {summary}" if total else f"0 {noun}"
    result.data = {"counts": outcome.counts, "failures": outcome.failures}
    if outcome.rows:
        result.rows = outcome.rows
    if not outcome.success or outcome.failures:
        result.status = Status.FAILED
        result.detail += f"; {'; '.join(outcome.failures[:3]) or 'dbt failed (see output above)'}"
    elif outcome.counts.get("warn"):
        result.status = Status.WARN
