"""Publish: gold to the serving copy, skipped when the serving copy already holds this build."""

from __future__ import annotations

from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.pipeline import fingerprint
from buildcpg_shared.pipeline.run_steps import StepContext
from buildcpg_shared.pipeline.steps import timed
from buildcpg_shared.run_record import Status, StepRecord
from buildcpg_shared.serving import publish, published_version


def run_publish(ctx: StepContext, build_key: str) -> StepRecord:
    """The Publish step; ``build_key`` is what the published copy is recorded against."""
    result = StepRecord("publish")
    con = ctx.con
    with timed(result):
        target = ctx.lab.paths.serving_file
        if fingerprint.get_state(con, "last_published") == build_key and target.exists():
            result.status, result.detail = Status.SKIPPED, "serving copy up to date"
        else:
            state = fingerprint.get_state(con, "serving_version")
            # a rebuilt database goes on from the version on disk: readers never see the version go back
            on_disk = published_version(target)
            version = (int(state) if state else (on_disk.version if on_disk else 0)) + 1
            try:
                published = publish(
                    con,
                    target,
                    lab=ctx.lab.name,
                    run_id=ctx.run_id,
                    version=version,
                    meta_file=ctx.lab.paths.serving_meta_file,
                    work_dir=ctx.lab.paths.publish_dir,
                )
            except BuildCPGError as err:
                result.status, result.detail = Status.FAILED, str(err)
            else:
                fingerprint.set_state(con, "serving_version", str(version))
                fingerprint.set_state(con, "last_published", build_key)
                result.rows = sum(published.tables.values())
                result.detail = f"version {version}: {len(published.tables)} gold table(s) → {target.name}"
                result.data = {"version": version, "path": str(target), "tables": published.tables}
    return result
