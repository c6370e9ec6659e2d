"""Run one lab: Check → Load → Transform → Test → Inspect → Publish, in this process, as the only writer.

The platform CLI starts one such process per lab in the lab's own venv; ``make run`` in a lab
folder does the same directly. dbt is imported only when Transform or Test has work to do.

This module only sequences: the steps are in ``run_steps/``, what the run prints and emits in
``reporter.py``, the connection and the full-refresh reset in ``database.py``, the report and
``last_run.json`` in ``run_report.py``.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterable

import duckdb

from buildcpg_shared.errors import BuildCPGError, DamagedDatabaseError, LabBusyError, is_damage
from buildcpg_shared.lab_lock import LabLock
from buildcpg_shared.pipeline import fingerprint, lab_state
from buildcpg_shared.pipeline.database import connect_for_run, move_aside, reset_for_full_refresh
from buildcpg_shared.pipeline.dbt_invoke import DbtSession
from buildcpg_shared.pipeline.guard import check_database_location, check_identity
from buildcpg_shared.pipeline.reporter import RunReporter
from buildcpg_shared.pipeline.run_report import RunReport, now_utc, write_last_run
from buildcpg_shared.pipeline.run_steps import StepContext
from buildcpg_shared.pipeline.run_steps.check import run_check
from buildcpg_shared.pipeline.run_steps.inspect import run_inspect
from buildcpg_shared.pipeline.run_steps.load import run_load
from buildcpg_shared.pipeline.run_steps.publish import run_publish
from buildcpg_shared.pipeline.run_steps.transform import run_build, run_test, run_transform
from buildcpg_shared.quality import DbtArtifacts
from buildcpg_shared.quality.run_times import keep_run_times
from buildcpg_shared.registry import Lab
from buildcpg_shared.run_record import STEP_NAMES, Status, lab_status
from buildcpg_shared.store import LabSnapshots

__all__ = ["LabRunner", "RunReport"]


class LabRunner:
    """Sequences the steps of one lab run under the lab lock, on one connection."""

    def __init__(
        self,
        lab: Lab,
        *,
        steps: Iterable[str] = STEP_NAMES,
        full_refresh: bool = False,
        rebuild: bool = False,
        wait: float = 0.0,
        events: bool = False,
        threads: int | None = None,
        echo: bool = True,
        lease: str | None = None,
    ) -> None:
        self.lab = lab
        self.paths = lab.paths
        self.steps = [s for s in STEP_NAMES if s in set(steps)]
        self.rebuild = rebuild  # move the database aside first, then build a new one from data/raw
        self.full_refresh = full_refresh or rebuild
        self.wait = wait
        self.lease = lease  # a state database URL: hold the lab's lease there too (one writer across machines)
        self.threads = threads  # dbt threads; None: the machine's cores (dbt_invoke.dbt_threads)
        self.database = self.paths.database()
        self._dbt: DbtSession | None = None
        self._snapshots: LabSnapshots | None = None  # shared storage: lab state follows the lab (lab_state.py)
        self._state_key = ""  # the lab state's fingerprint when the run's connection closed
        self.stop_reason = ""  # why the run is being stopped from outside (set before interrupting it)
        self.report = RunReport(
            lab=lab.name, run_id=uuid.uuid4().hex[:12], started_at=now_utc(), database=str(self.database)
        )
        self.reporter = RunReporter(self.report, echo=echo, events=events)

    def _lease(self) -> contextlib.AbstractContextManager[object]:
        """The lab's lease in the state database (with ``shared: state``), held after the file lock."""
        if not self.lease:
            return contextlib.nullcontext()
        from buildcpg_shared.state_db import StateLease  # SQLAlchemy only when a state database is set

        return StateLease(self.lease, self.lab.name, wait=self.wait)

    def _session(self) -> DbtSession:
        if self._dbt is None:
            self._dbt = DbtSession(
                self.paths,
                threads=self.threads,
                full_refresh=self.full_refresh,  # Python models read it from env var FULL_REFRESH_ENV
                on_node=self.reporter.node,  # each model's line, live (printed here, or by `buildcpg run`)
                config=self.lab.config,
            )
        return self._dbt

    def _close_dbt(self) -> None:
        if self._dbt is not None:
            self._dbt.close()

    # -- the run ---------------------------------------------------------------------------
    def _steps(self) -> None:
        """Every step on one connection, held for the whole run.

        dbt-duckdb opens its own connection to the same file; in this process DuckDB hands it the
        same database instance, so the file stays locked by this run from Check to Publish and no
        reader (or other writer) can slip in between two steps.
        """
        if self.rebuild:
            moved = move_aside(self.paths, self.database)
            if moved is not None:
                self.reporter.say(f"moved {self.paths.shown(self.database)} aside to {self.paths.shown(moved)}")
        con = connect_for_run(self.lab.name, self.database, self.paths)
        try:
            self._steps_on(con, set(self.steps))
            if self._snapshots is not None:  # the file must be whole on its own before it is copied
                self._close_dbt()
                self._state_key = lab_state.state_fingerprint(con)
                con.execute("checkpoint")
        finally:
            self._close_dbt()
            con.close()

    def _with_state(self) -> None:
        """The steps, with shared storage between the newest snapshot (restored first, unless
        ``--rebuild``) and a new one after a good run (lab_state.py). Under the lock and the lease."""
        self._snapshots = lab_state.lab_snapshots(self.lab)
        if self._snapshots is None:  # the embedded default
            self._steps()
            return
        if not self.rebuild:
            restored = lab_state.restore(self.lab, self.database, self._snapshots)
            self.reporter.finish_step(restored)
        self._steps()
        if lab_status(self.report.steps).passed:
            self.reporter.finish_step(
                lab_state.snapshot(
                    self.lab, self.database, self._snapshots, run_id=self.report.run_id, state_key=self._state_key
                )
            )

    def _steps_on(self, con: duckdb.DuckDBPyConnection, want: set[str]) -> None:
        ctx = StepContext(self.lab, con, self.report.run_id, self.reporter)
        finish, skipped = self.reporter.finish_step, self.reporter.skipped
        check_identity(con, self.lab.name, self.database)
        if self.full_refresh:
            reset_for_full_refresh(con)
        plan = inputs = None
        if "check" in want or "load" in want:
            checked, plan, inputs = run_check(ctx)
            finish(checked)
        if "load" in want and plan is not None and finish(run_load(ctx, plan, inputs)).status == Status.FAILED:
            for name in ("transform", "test", "inspect", "publish"):
                if name in want:
                    skipped(name, "load failed")
            return
        if inputs is not None and inputs.problems and {"transform", "test"} & want:  # never build on a missing input
            for name in ("transform", "test", "inspect", "publish"):
                if name in want:
                    skipped(name, f"input unavailable: {inputs.problems[0]}")
            return
        up_to_date = not self.full_refresh and fingerprint.is_up_to_date(self.paths, con, self.database)
        build_key = fingerprint.build_key(self.paths, con)

        artifacts: DbtArtifacts | None = None  # set when dbt test ran in this run
        built_since = time.time()
        dbt_steps = [s for s in ("transform", "test") if s in want]
        if dbt_steps and up_to_date:
            for name in dbt_steps:
                skipped(name, "up to date: no new data, no project change since the last good build")
        elif want >= {"transform", "test"}:  # one dbt build pass, reported as the two steps
            transformed, tested, artifacts = run_build(
                self._session(), full_refresh=self.full_refresh, con=con, gold=self.lab.config.gold
            )
            finish(transformed), finish(tested)
            self._close_dbt()
            if Status.FAILED not in (transformed.status, tested.status):
                fingerprint.set_state(con, "last_good_build", build_key)
            else:  # a failed build is never "up to date": the next run builds again (a reverted fix, too)
                fingerprint.set_state(con, "last_good_build", None)
        elif dbt_steps:
            ok = True
            if "transform" in want:
                transformed = run_transform(
                    self._session(), full_refresh=self.full_refresh, con=con, gold=self.lab.config.gold
                )
                ok = finish(transformed).status != Status.FAILED
            if "test" in want and ok:
                tested, artifacts = run_test(self._session())
                ok = finish(tested).status != Status.FAILED
            elif "test" in want:
                skipped("test", "transform failed")
            self._close_dbt()
            if not ok:
                fingerprint.set_state(con, "last_good_build", None)
        if dbt_steps and not up_to_date:  # this run's model times, kept per run for the report's trends
            keep_run_times(self.paths.dbt_dir / "target", self.paths.run_results_dir, self.report.run_id, built_since)
        if "inspect" in want:
            finish(run_inspect(ctx, artifacts, self.report.names_with(Status.FAILED), expects_gold="transform" in want))
        if self.report.names_with(Status.FAILED):  # a step that failed is never "up to date" next time
            fingerprint.set_state(con, "last_good_build", None)
        if "publish" in want:
            failed = self.report.names_with(Status.FAILED)
            if failed:
                skipped("publish", f"{', '.join(failed)} failed: the last good serving copy stays")
            else:
                finish(run_publish(ctx, build_key))

    def record_stopped(self, reason: str) -> None:
        """Record a run stopped from outside before it could end itself (then the process exits)."""
        self.report.status, self.report.error = Status.FAILED, f"interrupted ({reason})"
        with contextlib.suppress(BuildCPGError):  # already failed; the process exits non-zero anyway
            write_last_run(self.paths.last_run_file, self.report)

    def _write_last_run(self) -> None:
        """Write last_run.json; a write that fails (a full disk) fails the run with its one line."""
        try:
            write_last_run(self.paths.last_run_file, self.report)
        except BuildCPGError as err:
            self.report.status = Status.FAILED
            self.report.error = f"{self.report.error}; {err}" if self.report.error else str(err)
            self.reporter.say(f"error: {err}")

    def run(self) -> RunReport:
        """Run the selected steps under the lab lock; never raises for a failed step."""
        start = time.perf_counter()
        busy = False
        say = self.reporter.say
        self.reporter.started(self.steps)
        try:
            check_database_location(self.paths, self.database)
            self.lab.config  # noqa: B018 - validate lab.yaml before taking the lock
            with LabLock(self.paths.lock_file, self.lab.name, wait=self.wait), self._lease():
                self._with_state()
            self.report.settle()  # status and error from the steps (run_record: the one rule)
            snapped = self.report.step(lab_state.SNAPSHOT)
            if snapped is not None and snapped.status == Status.WARN:  # passed, but `runs` says why it warns
                self.report.error = f"snapshot failed: {snapped.detail}"
        except LabBusyError as err:
            self.report.status = Status.BUSY  # not run: another run of this lab holds the lock
            self.report.error = str(err)
            say(f"error: {err}")
            busy = True
        except BuildCPGError as err:
            self.report.status = Status.FAILED
            self.report.error = str(err)
            say(f"error: {err}")
        except Exception as err:  # an unexpected bug: still record the run as failed, then re-raise
            self.report.status = Status.FAILED
            if is_damage(err):  # a corrupt or truncated database found mid-run: one line, no traceback
                self.report.error = str(DamagedDatabaseError(self.lab.name, self.paths.shown(self.database), err))
                say(f"error: {self.report.error}")
            else:
                self.report.error = f"internal error: {type(err).__name__}: {err}"
                say(f"error: {self.report.error}")
                raise
        except KeyboardInterrupt as err:  # Ctrl-C, SIGTERM/SIGHUP, or the parent gone (pipeline.parent)
            why = self.stop_reason or (f"received {err.args[0]}" if err.args else "Ctrl-C")
            self.report.status = Status.FAILED
            self.report.error = f"interrupted ({why})"
            say("interrupted: committed files stay loaded, the next run completes the rest")
        finally:
            self.report.duration_s = round(time.perf_counter() - start, 3)
            if self.stop_reason and self.report.status == Status.FAILED and "interrupted" not in self.report.error:
                # stopped from outside, and the interrupt surfaced as a step failure (e.g. inside dbt)
                self.report.error = f"interrupted ({self.stop_reason}); {self.report.error}"
            if not busy:  # the holder writes its own record; do not overwrite it
                self._write_last_run()
            self.reporter.ended()
        return self.report
