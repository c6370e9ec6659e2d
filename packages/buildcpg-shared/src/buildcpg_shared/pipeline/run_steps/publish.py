"""Publish: gold to the serving copy, skipped when the serving copy already holds this build.

With ``shared.storage`` set, the finished serving copy is uploaded as an immutable version and the
pointer moved to it (store/published.py) before it replaces the local copy; a storage fault or a
newer writer fails the step in one line, the pointer keeps naming the last complete version and the
local serving copy stays as it was.
"""

from __future__ import annotations

from pathlib import Path

from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.pipeline import fingerprint
from buildcpg_shared.pipeline.run_steps import StepContext, shared_gold
from buildcpg_shared.pipeline.steps import timed
from buildcpg_shared.run_record import Status, StepRecord
from buildcpg_shared.serving import publish, published_version
from buildcpg_shared.store import SharedGold
from buildcpg_shared.store.published import Pointer

_SHARED_STATE = "last_shared"  # the build last published to storage (pointer moved)


def run_publish(ctx: StepContext, build_key: str) -> StepRecord:
    """The Publish step; ``build_key`` is what the published copy is recorded against."""
    result = StepRecord("publish")
    con = ctx.con
    with timed(result):
        target = ctx.lab.paths.serving_file
        try:
            shared = shared_gold(ctx.lab)
            if (
                fingerprint.get_state(con, "last_published") == build_key
                and target.exists()
                and (shared is None or fingerprint.get_state(con, _SHARED_STATE) == build_key)
            ):
                result.status, result.detail = Status.SKIPPED, "serving copy up to date"
                return result
            state = fingerprint.get_state(con, "serving_version")
            # a rebuilt database goes on from the version on disk: readers never see the version go back
            on_disk = published_version(target)
            version = (int(state) if state else (on_disk.version if on_disk else 0)) + 1
            # with storage, the number is above the pointer's and above every other machine's too
            upcoming = shared.next_version(ctx.lab.name, version) if shared else None
            version = upcoming.version if upcoming else version
            shared_pointer: list[Pointer] = []  # set once the pointer names the upload

            def upload(finished: Path) -> None:  # before the local swap: a storage fault leaves both as they were
                assert shared is not None and upcoming is not None
                shared_pointer.append(shared.publish(ctx.lab.name, finished, run_id=ctx.run_id, next_version=upcoming))

            published = publish(
                con,
                target,
                lab=ctx.lab.name,
                run_id=ctx.run_id,
                version=version,
                meta_file=ctx.lab.paths.serving_meta_file,
                work_dir=ctx.lab.paths.publish_dir,
                before_swap=upload if shared is not None else None,
            )
            fingerprint.set_state(con, "serving_version", str(version))
            fingerprint.set_state(con, "last_published", build_key)
            result.rows = sum(published.tables.values())
            result.detail = f"version {version}: {len(published.tables)} gold table(s) → {target.name}"
            result.data = {"version": version, "path": str(target), "tables": published.tables}
            if shared is not None:
                _shared(ctx, shared, shared_pointer[0], result, build_key)
        except BuildCPGError as err:
            result.status, result.detail = Status.FAILED, str(err)
    return result


def _shared(ctx: StepContext, shared: SharedGold, pointer: Pointer, result: StepRecord, build_key: str) -> None:
    """Record that the build is on storage (the pointer names it) and say where."""
    fingerprint.set_state(ctx.con, _SHARED_STATE, build_key)
    result.detail += f"; {shared.store.where.url}/{pointer.key}"
    result.data = {**result.data, "key": pointer.key, "sha256": pointer.sha256}
