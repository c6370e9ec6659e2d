"""Check: poll HTTP sources, then find the new, changed, removed and unfinished raw files."""

from __future__ import annotations

from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.ingest import ledger
from buildcpg_shared.ingest.check import CheckResult
from buildcpg_shared.ingest.http_source import HttpPoller
from buildcpg_shared.ingest.inputs import InputsCheck, check_inputs
from buildcpg_shared.ingest.monitor import CSVMonitor
from buildcpg_shared.pipeline.run_steps import StepContext, shared_gold
from buildcpg_shared.pipeline.steps import timed
from buildcpg_shared.run_record import Status, StepRecord


def run_check(ctx: StepContext) -> tuple[StepRecord, CheckResult, InputsCheck]:
    """The Check step, its plan (what Load loads) and the published version of every input
    (lab.yaml ``inputs``: other labs' gold; a missing or incompatible one fails the step)."""
    result = StepRecord("check")
    with timed(result):
        ledger.ensure_ledger(ctx.con)
        known = ledger.read_ledger(ctx.con)
        polled = _poll(ctx, known)
        plan = CSVMonitor(ctx.lab.paths.raw_dir, ctx.lab.config).check(known)
        plan.arrival = ledger.arrival_order(ctx.con)
        result.detail = (
            f"{len(plan.new)} new, {len(plan.changed)} changed, "
            f"{len(plan.unchanged) + len(plan.touched)} unchanged file(s)"
            + (f", {len(plan.removed)} removed (rows kept)" if plan.removed else "")
            + (f", {len(plan.in_progress)} still being written (next run)" if plan.in_progress else "")
            + (f", {len(plan.waiting)} waiting for a completion marker" if plan.waiting else "")
        )
        result.data = {
            "pending": [f.rel for f in plan.pending],
            "removed": [e.file for e in plan.removed],
            "in_progress": [f.rel for f in plan.in_progress],
            "waiting": [f.rel for f in plan.waiting],
            "poll_errors": polled,
            "unreadable": [u.line for u in plan.unreadable],
            "invalid": [u.line for u in plan.invalid],
        }
        for problem in plan.unreadable + plan.invalid:  # one line each; the other files still load
            ctx.reporter.say(f"check     error   {problem.line}")
        gold = shared_gold(ctx.lab) if ctx.lab.config.inputs else None  # inputs through storage's pointer
        inputs = check_inputs(ctx.con, ctx.lab.paths, ctx.lab.config, gold)
        if inputs.published:
            result.data["inputs"] = {n: p.label for n, p in inputs.published.items()}
        for line in inputs.problems:
            ctx.reporter.say(f"check     error   {line}")
        problems = inputs.problems + polled + [u.line for u in plan.unreadable + plan.invalid]
        if problems:
            result.status = Status.FAILED
            result.detail = f"{problems[0]}; {result.detail}"
    return result, plan, inputs


def _poll(ctx: StepContext, known: dict[str, ledger.LedgerEntry]) -> list[str]:
    """Poll every HTTP source into data/raw/_http/<source>/; return one line per failed source."""
    errors: list[str] = []
    raw_dir = ctx.lab.paths.raw_dir
    for name, source in ctx.lab.config.sources.items():
        if source.type != "http":
            continue
        try:
            landed = HttpPoller(name, source).poll(raw_dir, known)
        except BuildCPGError as err:
            errors.append(str(err))
            ctx.reporter.say(f"check     error   {err}")
            continue
        if landed is not None:
            rel = landed.relative_to(raw_dir).as_posix()
            ctx.reporter.say(f"check     polled  {name}: landed data/raw/{rel}")
    return errors
