"""Load: every pending raw file into raw.<source>, bad rows into quarantine.<source>, one transaction per file."""

from __future__ import annotations

from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.ingest import ledger
from buildcpg_shared.ingest.check import CheckResult
from buildcpg_shared.ingest.inputs import InputsCheck, copy_inputs
from buildcpg_shared.ingest.load import ensure_tables, load_file
from buildcpg_shared.ingest.s3_raw import clear_downloads, is_object, raw_name
from buildcpg_shared.pipeline.run_steps import StepContext
from buildcpg_shared.pipeline.steps import timed
from buildcpg_shared.run_record import FileEvent, Status, StepRecord


def run_load(ctx: StepContext, plan: CheckResult, inputs: InputsCheck | None = None) -> StepRecord:
    """The Load step: a file that cannot be loaded fails the step; the other files still load.
    Inputs whose published version is new are copied into ``inputs.<name>`` (ingest/inputs.py)."""
    result = StepRecord("load")
    errors: list[str] = []
    config = ctx.lab.config
    with timed(result):
        for name, source in config.sources.items():
            ensure_tables(ctx.con, name, source)
        rows = rejected = 0
        if any(is_object(raw.rel) for raw in plan.pending):  # objects on storage: what a killed run left
            clear_downloads(ctx.lab.paths.data_dir)
        for raw in plan.pending:
            try:
                loaded = load_file(ctx.con, raw, config.sources[raw.source], ctx.run_id)
            except BuildCPGError as err:
                errors.append(str(err))
                ctx.reporter.say(f"load      error   {err}")
                continue
            rows += loaded.rows
            rejected += loaded.rejected
            if loaded.note:
                ctx.reporter.say(f"load      warn    {loaded.note}")
            if loaded.rejected:
                ctx.reporter.say(
                    f"load      warn    {raw_name(loaded.file)}: {loaded.rejected} row(s) quarantined in "
                    f"quarantine.{loaded.source}; first: {loaded.first_problem}"
                )
            ctx.reporter.event(FileEvent(ctx.lab.name, dict(loaded.__dict__)))
        for raw in plan.touched:
            ledger.touch(ctx.con, raw.rel, raw.size, raw.mtime_ns)
        copied = copy_inputs(ctx.con, ctx.lab.paths, config, inputs or InputsCheck({}, []), ctx.run_id)
        for line in copied.problems:
            errors.append(line)
            ctx.reporter.say(f"load      error   {line}")
        for name in copied.copied:
            ctx.reporter.say(f"load      input   {name}: {copied.versions.get(name, '')} copied to inputs.{name}")
        result.rows = rows
        loaded_files = len(plan.pending) - len(errors)
        result.detail = f"{loaded_files} file(s) loaded, {rejected} row(s) quarantined"
        result.data = {"rejected": rejected, "errors": errors}
        if copied.versions:  # which published version of each input this run uses (the history keeps it)
            result.data["inputs"] = copied.versions
            result.detail += f", inputs: {', '.join(f'{n} {v}' for n, v in copied.versions.items())}"
        if plan.arrival and not errors:
            ledger.forget_arrival_order(ctx.con)
        if errors:
            result.status = Status.FAILED
            result.detail = f"{len(errors)} file(s) not loaded: {errors[0]}"
        elif rejected:
            result.status = Status.WARN
    return result
