"""Inspect: row counts of gold, raw and quarantine, a snapshot for change tracking, and the quality score."""

from __future__ import annotations

from buildcpg_shared.inspect import DataInspector
from buildcpg_shared.inspect.inspector import take_snapshot
from buildcpg_shared.pipeline.run_steps import StepContext
from buildcpg_shared.pipeline.steps import timed
from buildcpg_shared.quality import DbtArtifacts
from buildcpg_shared.quality.runstep import RunQuality, score_run
from buildcpg_shared.run_record import Status, StepRecord
from buildcpg_shared.schema import GOLD_SCHEMA, QUARANTINE_SCHEMA, RAW_SCHEMA


def run_inspect(
    ctx: StepContext, artifacts: DbtArtifacts | None, failed_steps: list[str], *, expects_gold: bool
) -> StepRecord:
    """The Inspect step (``expects_gold``: Transform was selected, so no gold table is worth a warning)."""
    result = StepRecord("inspect")
    with timed(result):
        inspector = DataInspector(ctx.con)
        tables = {
            f"{s}.{t}": inspector.row_count(s, t)
            for s, t in inspector.tables([GOLD_SCHEMA, RAW_SCHEMA, QUARANTINE_SCHEMA])
        }
        gold = {k: v for k, v in tables.items() if k.startswith(f"{GOLD_SCHEMA}.")}
        result.rows = sum(gold.values())
        result.data = {"tables": tables}
        empty = [k for k, v in gold.items() if v == 0]
        result.detail = f"{len(gold)} gold table(s)" + (f"; empty: {', '.join(empty)}" if empty else "")
        if not gold and expects_gold:
            result.status = Status.WARN
            result.detail = "no gold tables"
        elif empty:
            result.status = Status.WARN
        if artifacts is not None:
            take_snapshot(ctx.con, ctx.run_id, [GOLD_SCHEMA, RAW_SCHEMA])
        quality = score_run(ctx.con, ctx.lab.config, ctx.run_id, artifacts, sorted(gold), failed_steps)
        apply_quality(result, quality)
    return result


def apply_quality(result: StepRecord, quality: RunQuality) -> None:
    """The quality verdict on the Inspect step: its note, its data, and the status it asks for."""
    result.detail += quality.note
    if quality.data is not None:
        result.data["quality"] = quality.data
    if quality.status == "failed":
        result.status = Status.FAILED
    elif quality.status == "warn" and result.status == Status.OK:
        result.status = Status.WARN
