"""Run one lab: Check → Load → Transform → Test → Inspect → Publish, in this process, as the only writer.

The platform CLI starts one such process per lab in the lab's own venv; ``make run`` in a lab
folder does the same directly. dbt is imported only when Transform or Test has work to do.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from buildcpg_shared.errors import BuildCPGError, LabBusyError, StepError, first_line, os_problem
from buildcpg_shared.ingest import ledger
from buildcpg_shared.ingest.check import CheckResult
from buildcpg_shared.ingest.http_source import HttpPoller
from buildcpg_shared.ingest.load import QUARANTINE_SCHEMA, RAW_SCHEMA, ensure_tables, load_file
from buildcpg_shared.ingest.monitor import CSVMonitor
from buildcpg_shared.inspect import DataInspector
from buildcpg_shared.inspect.inspector import take_snapshot
from buildcpg_shared.pipeline import fingerprint
from buildcpg_shared.pipeline.dbt_invoke import DbtOutcome, DbtSession
from buildcpg_shared.pipeline.dbt_progress import NodeLine
from buildcpg_shared.pipeline.gold_views import gold_models, refresh_gold_views
from buildcpg_shared.pipeline.guard import check_database_location, check_identity
from buildcpg_shared.pipeline.lock import LabLock
from buildcpg_shared.pipeline.steps import STEP_NAMES, StepResult, emit, format_step, timed
from buildcpg_shared.quality import DbtArtifacts, read_artifacts
from buildcpg_shared.quality.runstep import score_run
from buildcpg_shared.registry import Lab
from buildcpg_shared.serving import publish

GOLD_SCHEMA = "gold"
CONNECT_WAIT_S = 30.0  # how long a run waits for a reader that opened the database just before it


@dataclass
class RunReport:
    """The outcome of one lab run (also written to data/last_run.json)."""

    lab: str
    run_id: str
    started_at: str
    status: str = "running"  # running | ok | warn | failed | busy (refused: the lab was already running)
    finished_at: str = ""
    duration_s: float = 0.0
    database: str = ""
    steps: list[StepResult] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "warn")

    def step(self, name: str) -> StepResult | None:
        return next((s for s in self.steps if s.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lab": self.lab,
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "duration_s": self.duration_s,
            "database": self.database,
            "error": self.error,
            "steps": [s.to_dict() for s in self.steps],
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


class LabRunner:
    """Executes the steps of one lab run and reports each one."""

    def __init__(
        self,
        lab: Lab,
        *,
        steps: Iterable[str] = STEP_NAMES,
        full_refresh: bool = False,
        wait: float = 0.0,
        events: bool = False,
        threads: int = 1,
        echo: bool = True,
    ) -> None:
        self.lab = lab
        self.paths = lab.paths
        self.steps = [s for s in STEP_NAMES if s in set(steps)]
        self.full_refresh = full_refresh
        self.wait = wait
        self.events = events
        self.threads = threads
        self.echo = echo
        self.database = self.paths.database()
        self._dbt: DbtSession | None = None
        self._artifacts: DbtArtifacts | None = None  # set when dbt test ran in this run
        self._build_key = ""
        self.stop_reason = ""  # why the run is being stopped from outside (set before interrupting it)
        self.report = RunReport(
            lab=lab.name, run_id=uuid.uuid4().hex[:12], started_at=_now(), database=str(self.database)
        )

    # -- reporting -------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        if self.echo:
            print(f"[{self.lab.name}] {text}", flush=True)

    def _finish_step(self, result: StepResult) -> None:
        self.report.steps.append(result)
        if self.echo:
            print(format_step(self.lab.name, result.to_dict()), flush=True)
        emit("step", self.events, lab=self.lab.name, **result.to_dict())

    def _node_finished(self, line: NodeLine) -> None:
        emit("node", self.events, lab=self.lab.name, **line.to_dict())  # shown live by `buildcpg run`

    # -- steps -----------------------------------------------------------------------------
    def _check(self, con: duckdb.DuckDBPyConnection) -> CheckResult:
        result = StepResult("check")
        with timed(result):
            ledger.ensure_ledger(con)
            known = ledger.read_ledger(con)
            polled = self._poll(known)
            plan = CSVMonitor(self.paths.raw_dir, self.lab.config).check(known)
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
            }
            for problem in plan.unreadable:  # one line each; the other files still load
                self._say(f"check     error   {problem.line}")
            problems = polled + [u.line for u in plan.unreadable]
            if problems:
                result.status = "failed"
                result.detail = f"{problems[0]}; {result.detail}"
        self._finish_step(result)
        return plan

    def _poll(self, known: dict[str, ledger.LedgerEntry]) -> list[str]:
        """Poll every HTTP source into data/raw/_http/<source>/; return one line per failed source."""
        errors: list[str] = []
        for name, source in self.lab.config.sources.items():
            if source.type != "http":
                continue
            try:
                landed = HttpPoller(name, source).poll(self.paths.raw_dir, known)
            except BuildCPGError as err:
                errors.append(str(err))
                self._say(f"check     error   {err}")
                continue
            if landed is not None:
                rel = landed.relative_to(self.paths.raw_dir).as_posix()
                self._say(f"check     polled  {name}: landed data/raw/{rel}")
        return errors

    def _load(self, con: duckdb.DuckDBPyConnection, plan: CheckResult) -> StepResult:
        result = StepResult("load")
        errors: list[str] = []
        with timed(result):
            for name, source in self.lab.config.sources.items():
                ensure_tables(con, name, source)
            rows = rejected = 0
            for raw in plan.pending:
                try:
                    loaded = load_file(con, raw, self.lab.config.sources[raw.source], self.report.run_id)
                except BuildCPGError as err:
                    errors.append(str(err))
                    self._say(f"load      error   {err}")
                    continue
                rows += loaded.rows
                rejected += loaded.rejected
                if loaded.rejected:
                    self._say(
                        f"load      warn    data/raw/{loaded.file}: {loaded.rejected} row(s) quarantined in "
                        f"quarantine.{loaded.source}; first: {loaded.first_problem}"
                    )
                emit("file", self.events, lab=self.lab.name, **loaded.__dict__)
            for raw in plan.touched:
                ledger.touch(con, raw.rel, raw.size, raw.mtime_ns)
            result.rows = rows
            loaded_files = len(plan.pending) - len(errors)
            result.detail = f"{loaded_files} file(s) loaded, {rejected} row(s) quarantined"
            result.data = {"rejected": rejected, "errors": errors}
            if errors:
                result.status = "failed"
                result.detail = f"{len(errors)} file(s) not loaded: {errors[0]}"
            elif rejected:
                result.status = "warn"
        self._finish_step(result)
        return result

    def _session(self) -> DbtSession:
        if self._dbt is None:
            self._dbt = DbtSession(
                self.paths, threads=self.threads, dbt_vars=self.lab.config.dbt_vars(), on_node=self._node_finished
            )
        return self._dbt

    def _transform(self, con: duckdb.DuckDBPyConnection) -> StepResult:
        result = StepResult("transform")
        with timed(result):
            session, extra = self._session(), ["--full-refresh"] if self.full_refresh else []
            # seeds first (an adopted dbt project may select from them); a failed seed stops here
            seeded = session.command(["seed"], extra) if session.has_seeds() else None
            if seeded is not None and (not seeded.success or seeded.failures):
                outcome = seeded
            else:
                outcome = session.command(["run"], extra)
            self._apply(result, outcome, "model(s)")
            gold = self.lab.config.gold
            if gold is not None and result.status != "failed":  # lab.yaml names its gold models (gold_views)
                try:
                    views = refresh_gold_views(con, gold_models(session.select_models(gold.select), gold.select))
                    result.detail += f"; gold: {len(views)} model(s)"
                except BuildCPGError as err:
                    result.status, result.detail = "failed", f"{result.detail}; {err}"
        self._finish_step(result)
        return result

    def _test(self) -> StepResult:
        result = StepResult("test")
        with timed(result):
            tests = self._session().command(["test"])
            fresh = self._session().command(["source", "freshness"])
            self._apply(result, tests, "test(s)")
            result.data["freshness"] = fresh.counts
            try:  # only when dbt test produced results: else run_results.json is an older command's
                self._artifacts = read_artifacts(self.paths.dbt_dir / "target") if tests.counts else None
            except BuildCPGError as err:
                result.status = "failed"
                result.detail += f"; {err}"
            if not fresh.success or fresh.failures:
                result.status = "failed"
                result.detail += f"; freshness: {', '.join(fresh.failures) or 'failed'}"
            elif fresh.counts.get("warn"):
                result.status = "warn" if result.status == "ok" else result.status
                result.detail += f"; {fresh.counts['warn']} source(s) stale (warn)"
        self._finish_step(result)
        return result

    @staticmethod
    def _apply(result: StepResult, outcome: DbtOutcome, noun: str) -> None:
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

    def _inspect(self, con: duckdb.DuckDBPyConnection) -> StepResult:
        result = StepResult("inspect")
        with timed(result):
            inspector = DataInspector(con)
            tables = {
                f"{s}.{t}": inspector.row_count(s, t)
                for s, t in inspector.tables([GOLD_SCHEMA, RAW_SCHEMA, QUARANTINE_SCHEMA])
            }
            gold = {k: v for k, v in tables.items() if k.startswith(f"{GOLD_SCHEMA}.")}
            result.rows = sum(gold.values())
            result.data = {"tables": tables}
            empty = [k for k, v in gold.items() if v == 0]
            result.detail = f"{len(gold)} gold table(s)" + (f"; empty: {', '.join(empty)}" if empty else "")
            if not gold and "transform" in self.steps:
                result.status = "warn"
                result.detail = "no gold tables"
            elif empty:
                result.status = "warn"
            if self._artifacts is not None:
                take_snapshot(con, self.report.run_id, [GOLD_SCHEMA, RAW_SCHEMA])
            score_run(
                con, self.lab.config, self.report.run_id, self._artifacts, sorted(gold), result, self.report.steps
            )
        self._finish_step(result)
        return result

    def _publish(self, con: duckdb.DuckDBPyConnection) -> StepResult:
        result = StepResult("publish")
        with timed(result):
            target = self.paths.serving_file
            if fingerprint.get_state(con, "last_published") == self._build_key and target.exists():
                result.status, result.detail = "skipped", "serving copy up to date"
            else:
                version = int(fingerprint.get_state(con, "serving_version") or 0) + 1
                try:
                    published = publish(con, target, lab=self.lab.name, run_id=self.report.run_id, version=version)
                except BuildCPGError as err:
                    result.status, result.detail = "failed", str(err)
                else:
                    fingerprint.set_state(con, "serving_version", str(version))
                    fingerprint.set_state(con, "last_published", self._build_key)
                    result.rows = sum(published.tables.values())
                    result.detail = f"version {version}: {len(published.tables)} gold table(s) → {target.name}"
                    result.data = {"version": version, "path": str(target), "tables": published.tables}
        self._finish_step(result)
        return result

    def _skipped(self, name: str, why: str) -> None:
        self._finish_step(StepResult(name, status="skipped", detail=why))

    # -- the run ---------------------------------------------------------------------------
    def _connect(self) -> duckdb.DuckDBPyConnection:
        """Open the lab database for writing; wait a little for a reader that opened it just before the run.

        CLI readers never open the file while the lab lock is held, but one may have opened it an
        instant before this run took the lock (or a BI tool holds it): DuckDB then refuses a writer.
        """
        try:
            self.database.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StepError(f"{self.lab.name}: cannot create the database folder: {os_problem(err)}") from err
        deadline = time.monotonic() + CONNECT_WAIT_S
        while True:
            try:
                con = duckdb.connect(str(self.database))
                break
            except duckdb.Error as err:
                locked = "lock" in str(err).lower()
                if locked and time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                why = (
                    f"another process keeps it open ({first_line(err)}) for over {CONNECT_WAIT_S:g}s; close it "
                    "(BI tools should read the serving copy)"
                    if locked
                    else first_line(err)
                )
                raise StepError(f"{self.lab.name}: cannot open the database {self.database}: {why}") from err
        con.execute("set session preserve_insertion_order = false")
        return con

    def _reset(self, con: duckdb.DuckDBPyConnection) -> None:
        """--full-refresh: rebuild raw and quarantine from the files (the files are untouched).

        One transaction (DuckDB DDL is transactional): a kill at any point leaves either the old
        raw + ledger + build state or none of them, never a ledger claiming rows raw no longer holds.
        """
        fingerprint.get_state(con, "last_good_build")  # creates the state table outside the transaction
        con.execute("begin transaction")
        try:
            for schema in (RAW_SCHEMA, QUARANTINE_SCHEMA):
                con.execute(f"drop schema if exists {schema} cascade")
            con.execute(f"drop table if exists {ledger.LEDGER}")
            fingerprint.set_state(con, "last_good_build", None)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise

    def _steps(self) -> None:
        """Every step on one connection, held for the whole run.

        dbt-duckdb opens its own connection to the same file; in this process DuckDB hands it the
        same database instance, so the file stays locked by this run from Check to Publish and no
        reader (or other writer) can slip in between two steps.
        """
        con = self._connect()
        try:
            self._steps_on(con, set(self.steps))
        finally:
            if self._dbt is not None:
                self._dbt.close()
            con.close()

    def _steps_on(self, con: duckdb.DuckDBPyConnection, want: set[str]) -> None:
        check_identity(con, self.lab.name, self.database)
        if self.full_refresh:
            self._reset(con)
        plan = self._check(con) if "check" in want or "load" in want else None
        if "load" in want and plan is not None and self._load(con, plan).status == "failed":
            for name in ("transform", "test", "inspect", "publish"):
                if name in want:
                    self._skipped(name, "load failed")
            return
        up_to_date = not self.full_refresh and fingerprint.is_up_to_date(self.paths, con, self.database)
        build_key = self._build_key = fingerprint.build_key(self.paths, con)

        dbt_steps = [s for s in ("transform", "test") if s in want]
        if dbt_steps and up_to_date:
            for name in dbt_steps:
                self._skipped(name, "up to date: no new data, no project change since the last good build")
        elif dbt_steps:
            ok = True
            if "transform" in want:
                ok = self._transform(con).status != "failed"
            if "test" in want:
                ok = (self._test().status != "failed") if ok else (self._skipped("test", "transform failed") or False)
            if self._dbt is not None:
                self._dbt.close()
            if ok and want >= {"transform", "test"}:
                fingerprint.set_state(con, "last_good_build", build_key)
        if "inspect" in want:
            self._inspect(con)
        if "publish" in want:
            failed = [s.name for s in self.report.steps if s.status == "failed"]
            if failed:
                self._skipped("publish", f"{', '.join(failed)} failed: the last good serving copy stays")
            else:
                self._publish(con)

    def _record(self) -> None:
        """Write data/last_run.json (never raises: a full disk must not hide the run's outcome)."""
        self.report.finished_at = _now()
        with contextlib.suppress(OSError):
            _write_json_atomic(self.paths.last_run_file, self.report.to_dict())

    def record_stopped(self, reason: str) -> None:
        """Record a run stopped from outside before it could end itself (then the process exits)."""
        self.report.status, self.report.error = "failed", f"interrupted ({reason})"
        self._record()

    def run(self) -> RunReport:
        """Run the selected steps under the lab lock; never raises for a failed step."""
        start = time.perf_counter()
        busy = False
        emit("start", self.events, lab=self.lab.name, run_id=self.report.run_id, steps=self.steps)
        try:
            check_database_location(self.paths, self.database)
            self.lab.config  # noqa: B018 - validate lab.yaml before taking the lock
            with LabLock(self.paths.lock_file, self.lab.name, wait=self.wait):
                self._steps()
            failed = [s.name for s in self.report.steps if s.status == "failed"]
            warned = [s.name for s in self.report.steps if s.status == "warn"]
            self.report.status = "failed" if failed else ("warn" if warned else "ok")
            if failed:
                self.report.error = f"step(s) failed: {', '.join(failed)}"
        except LabBusyError as err:
            self.report.status = "busy"  # not run: another run of this lab holds the lock
            self.report.error = str(err)
            self._say(f"error: {err}")
            busy = True
        except BuildCPGError as err:
            self.report.status = "failed"
            self.report.error = str(err)
            self._say(f"error: {err}")
        except Exception as err:  # an unexpected bug: still record the run as failed, then re-raise
            self.report.status = "failed"
            self.report.error = f"internal error: {type(err).__name__}: {err}"
            self._say(f"error: {self.report.error}")
            raise
        except KeyboardInterrupt as err:  # Ctrl-C, SIGTERM/SIGHUP, or the parent gone (pipeline.parent)
            why = self.stop_reason or (f"received {err.args[0]}" if err.args else "Ctrl-C")
            self.report.status = "failed"
            self.report.error = f"interrupted ({why})"
            self._say("interrupted: committed files stay loaded, the next run completes the rest")
        finally:
            self.report.duration_s = round(time.perf_counter() - start, 3)
            if self.stop_reason and self.report.status == "failed" and "interrupted" not in self.report.error:
                # stopped from outside, and the interrupt surfaced as a step failure (e.g. inside dbt)
                self.report.error = f"interrupted ({self.stop_reason}); {self.report.error}"
            if not busy:  # the holder writes its own record; do not overwrite it
                self._record()
            emit("end", self.events, busy=busy, **{k: v for k, v in self.report.to_dict().items() if k != "steps"})
        return self.report


def run_lab(lab: Lab, **options: Any) -> RunReport:
    """Run a lab with ``LabRunner`` options; returns the report."""
    return LabRunner(lab, **options).run()
