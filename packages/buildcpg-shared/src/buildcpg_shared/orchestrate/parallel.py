"""Run many labs at once: one subprocess per lab, in the lab's own venv, up to ``jobs`` at a time.

Each lab process prints ``@@buildcpg`` event lines (see pipeline.steps); everything else it
prints goes to ``.buildcpg/logs/<lab>/<stamp>.log``, line by line (``tail -f`` works). A lab that
fails, crashes or hangs past its timeout never stops the others.

Lab processes end with their parent: ``stop_children`` (called on SIGTERM/SIGINT/SIGHUP by the
commands that start labs) asks each to stop and kills it after a grace period; a parent killed
outright (SIGKILL) closes the children's stdin, and each child stops itself (``--stop-with-parent``).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from buildcpg_shared.errors import BuildCPGError, first_line
from buildcpg_shared.history import now_iso
from buildcpg_shared.orchestrate.service import LOG_ENV, RUN_ID_ENV, delivery_dict, record_lab_run, record_lab_start
from buildcpg_shared.pipeline.dbt_progress import NodeLine
from buildcpg_shared.pipeline.parent import stop_grace_s
from buildcpg_shared.registry import Lab, Workspace
from buildcpg_shared.run_record import (
    AlertEvent,
    EndEvent,
    Event,
    LabRunRecord,
    NodeEvent,
    RecordedEvent,
    RunOptions,
    StartEvent,
    Status,
    StepEvent,
    StepRecord,
    decode,
    quality_of,
)


@dataclass
class LabProgress:
    """What the platform knows of one lab's run so far."""

    lab: str
    state: Status = Status.QUEUED
    current: str = ""
    steps: dict[str, StepRecord] = field(default_factory=dict)
    started: float | None = None
    finished: float | None = None
    returncode: int | None = None
    error: str = ""
    log: Path | None = None
    started_at: str = ""
    finished_at: str = ""
    run_id: str = ""
    duration_s: float | None = None  # the lab's own measure (its end event), as recorded in the history
    recorded: bool = False  # the lab process recorded its run itself (the run service said so)
    alerts: list[dict[str, Any]] = field(default_factory=list)  # deliveries: subject, route, ok, error
    nodes: list[NodeLine] = field(default_factory=list)  # dbt models/seeds finished so far (dbt_progress)

    @property
    def busy(self) -> bool:
        """Refused: the lab (or an upstream it waits on) was running elsewhere; not a failure of the lab."""
        return self.state == Status.BUSY

    @property
    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started

    @property
    def duration(self) -> float:
        """The run's duration as recorded (the lab's own measure once it ended), else the time so far."""
        return self.duration_s if self.duration_s is not None else self.elapsed

    @property
    def ok(self) -> bool:
        return self.state.passed

    @property
    def quality(self) -> float | None:
        """The lab's quality score, when its inspect step reports one (``data.quality.score``)."""
        return quality_of(self.steps.values())

    def record(self) -> LabRunRecord:
        """What the history keeps of this run (when the lab process could not record it itself)."""
        return LabRunRecord.from_steps(
            self.lab,
            self.state,
            started_at=self.started_at or now_iso(),
            finished_at=self.finished_at or now_iso(),
            duration_s=self.duration,
            error=self.error,
            lab_run_id=self.run_id,
            log=str(self.log or ""),
            steps=tuple(self.steps.values()),
        )

    def apply(self, event: Event) -> bool:
        """Take one event of the lab process in; True when the live view changed."""
        if isinstance(event, StepEvent):
            self.steps[event.step.name] = event.step
            self.current = event.step.name
            return True
        if isinstance(event, NodeEvent):
            self.nodes.append(NodeLine.from_dict(event.node))
            return True
        if isinstance(event, StartEvent):
            self.run_id = event.run_id
        elif isinstance(event, AlertEvent):
            self.alerts.append({"subject": event.subject, "route": event.route, "ok": event.ok, "error": event.error})
        elif isinstance(event, RecordedEvent):
            self.recorded = True
        return False


def lab_command(lab: Lab, options: RunOptions) -> list[str]:
    """The command that runs one lab in its own venv (it stops itself when this process dies)."""
    return [
        str(lab.paths.venv_python),
        "-m",
        "buildcpg_shared.cli.lab",
        "--lab-dir",
        str(lab.paths.root),
        "run",
        "--events",
        "--stop-with-parent",
        *options.to_argv(),
    ]


class _Children:
    """The lab processes this process started and has not yet reaped; stoppable all at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.live: set[subprocess.Popen[str]] = set()
        self.stopping = threading.Event()
        self.reason = ""

    def add(self, proc: subprocess.Popen[str]) -> None:
        with self.lock:
            self.live.add(proc)
        if self.stopping.is_set():  # started in the instant the stop came: it stops at once too
            proc.kill()

    def discard(self, proc: subprocess.Popen[str]) -> None:
        with self.lock:
            self.live.discard(proc)

    def stop(self, reason: str) -> None:
        """SIGTERM every lab process (each records 'interrupted'); SIGKILL those left after the grace."""
        again = self.stopping.is_set()
        self.reason = self.reason or reason
        self.stopping.set()
        with self.lock:
            procs = list(self.live)
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL if again else signal.SIGTERM)
        if not again:
            timer = threading.Timer(stop_grace_s(), self._kill_left, [procs])
            timer.daemon = True
            timer.start()

    @staticmethod
    def _kill_left(procs: list[subprocess.Popen[str]]) -> None:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


CHILDREN = _Children()


def stop_children(reason: str) -> None:
    """Stop every lab process of this process (a second call kills them at once)."""
    CHILDREN.stop(reason)


def stop_children_on_signals() -> None:
    """Make SIGTERM, SIGINT and SIGHUP stop the lab processes; the caller then finishes normally
    (records each lab, prints its summary). Call from the main thread."""

    def handler(signum: int, frame: object) -> None:
        stop_children(f"stopped: buildcpg received {signal.Signals(signum).name}")

    for sig in (signal.SIGTERM, signal.SIGINT, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, handler)


def lab_timeout(lab: Lab, default: float | None) -> float | None:
    """The lab's own ``timeout_s`` (lab.yaml) if it has one, else ``default``."""
    try:
        return lab.config.timeout_s or default
    except BuildCPGError:  # a broken lab.yaml: the run itself reports it
        return default


def _tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def lab_log_path(workspace: Workspace, lab: Lab) -> Path:
    """A new log file for one run of a lab: ``.buildcpg/logs/<lab>/<stamp>-<pid>.log``."""
    log_dir = workspace.state_dir / "logs" / lab.name
    log_dir.mkdir(parents=True, exist_ok=True)
    return log_dir / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"


def child_env(lab: Lab, run_id: str, log: Path) -> dict[str, str]:
    """The lab process's environment: its own venv, unbuffered, the platform run id and the log file."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", RUN_ID_ENV)}
    env.update(VIRTUAL_ENV=str(lab.paths.venv), PYTHONUNBUFFERED="1", **{LOG_ENV: str(log)})
    if run_id:  # the lab's history row joins this platform run
        env[RUN_ID_ENV] = run_id
    return env


def read_events(
    proc: subprocess.Popen[str], log: IO[str], progress: LabProgress, on_change: Callable[[], None]
) -> EndEvent | None:
    """Read the lab process's output to its end: events into ``progress``, other lines into the log.
    Returns the run's end event (None: the process ended without one)."""
    assert proc.stdout is not None
    end: EndEvent | None = None
    for line in proc.stdout:
        event = decode(line)
        if event is None:
            log.write(line)
        elif isinstance(event, EndEvent):
            end = event
        elif progress.apply(event):
            on_change()
    return end


def settle(progress: LabProgress, end: EndEvent | None, returncode: int, timed_out: float | None) -> None:
    """The lab's final state and error from how its process ended (``timed_out``: the limit it passed)."""
    if end is not None and timed_out is None:  # the lab's own times, as it recorded them
        progress.started_at = end.started_at or progress.started_at
        progress.finished_at = end.finished_at or progress.finished_at
        progress.duration_s = end.duration_s
    if timed_out is not None:
        progress.state, progress.error = Status.FAILED, f"timed out after {timed_out:g}s and was killed"
    elif end is not None and end.busy:
        progress.state, progress.error = Status.BUSY, end.error or "already running"
    elif CHILDREN.stopping.is_set() and (end is None or not end.status.passed):
        said = f"; the lab said: {end.error}" if end and end.error else f" (exit code {returncode})"
        progress.state, progress.error = Status.FAILED, f"{CHILDREN.reason}{said}"
    elif end is not None:
        progress.state, progress.error = Status.settled(end.status), end.error
    else:
        progress.state = Status.FAILED
        progress.error = f"lab process exited with code {returncode} before reporting (crash?)"
    if progress.state == Status.FAILED and not progress.error:
        progress.error = f"exit code {returncode}"


def run_one(
    workspace: Workspace,
    lab: Lab,
    options: RunOptions,
    progress: LabProgress,
    *,
    timeout: float | None,
    on_change: Callable[[], None],
    run_id: str = "",
) -> LabProgress:
    """Run one lab to its end (or its timeout), updating ``progress`` from its events.

    The lab process records its own run (the run service) under the platform run ``run_id``.
    """
    progress.log = lab_log_path(workspace, lab)
    progress.state, progress.started, progress.started_at = Status.RUNNING, time.monotonic(), now_iso()
    if run_id:  # the history says running from now on, not queued
        record_lab_start(workspace, lab, run_id, progress.started_at)
    on_change()
    timed_out = threading.Event()
    with progress.log.open("w", encoding="utf-8", buffering=1) as log:  # line by line: `tail -f` works
        proc = subprocess.Popen(
            lab_command(lab, options),
            cwd=lab.paths.root,
            env=child_env(lab, run_id, progress.log),
            stdin=subprocess.PIPE,  # never written: its EOF tells the child that this process is gone
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        CHILDREN.add(proc)

        def _kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, _kill) if timeout else None
        if timer:
            timer.start()
        end = read_events(proc, log, progress, on_change)
        proc.wait()
        CHILDREN.discard(proc)
        if proc.stdin:
            proc.stdin.close()
        if timer:
            timer.cancel()
    progress.finished, progress.finished_at = time.monotonic(), now_iso()
    progress.returncode = proc.returncode
    settle(progress, end, proc.returncode, timeout if timed_out.is_set() else None)
    on_change()
    return progress


# `buildcpg run` exit codes (docs/cli.md): 2 is an error of the command itself (main)
EXIT_PASSED, EXIT_FAILED, EXIT_PASSED_OR_BUSY = 0, 1, 3


def run_exit_code(progress: dict[str, LabProgress]) -> int:
    """0 every lab passed; 1 some lab failed; 3 none failed but some were busy (running elsewhere)."""
    if any(not p.ok and not p.busy for p in progress.values()):  # failed, or skipped: an upstream failed
        return EXIT_FAILED
    return EXIT_PASSED_OR_BUSY if any(p.busy for p in progress.values()) else EXIT_PASSED


def new_progress(labs: list[Lab]) -> dict[str, LabProgress]:
    """One queued progress record per lab, in order."""
    return {lab.name: LabProgress(lab.name) for lab in labs}


def run_labs(
    workspace: Workspace,
    labs: list[Lab],
    options: RunOptions,
    *,
    jobs: int,
    timeout: float | None = None,
    on_change: Callable[[], None] = lambda: None,
    progress: dict[str, LabProgress] | None = None,
    on_done: Callable[[Lab, LabProgress], None] = lambda lab, p: None,
    run_id: str = "",
    graph: dict[str, list[str]] | None = None,
    allow_stale: bool = False,
    unready: dict[str, str] | None = None,
) -> dict[str, LabProgress]:
    """Run ``labs`` concurrently (at most ``jobs`` at once); never raises for a failed lab.

    With ``graph`` (orchestrate/graph.py: each lab's upstream labs) a lab starts only when every
    upstream of it among ``labs`` has finished; when one of them failed, the lab is ``skipped
    (upstream failed)``, and when one was busy (running elsewhere) the lab is ``busy`` too, unless
    ``allow_stale``, which runs it on the upstream's last published version. Upstreams not among
    ``labs`` are not waited for (their last publish is read).

    Every lab run is recorded once in the history under the platform run ``run_id``: by the lab
    process (the run service), or here when it could not (killed, timed out, never started).
    Pass ``progress`` (from ``new_progress``) to watch it fill while the runs go on; ``on_done`` is
    called (in a worker thread) as soon as each lab has finished, failed or been killed, and recorded.
    A lab in ``unready`` (name → the one line why it has no venv) fails with that line, not started.
    """
    progress = progress if progress is not None else new_progress(labs)
    unready = unready or {}

    def one(lab: Lab) -> None:
        if lab.name in unready:  # no venv to run it in: it fails alone, with its one line
            progress[lab.name].state, progress[lab.name].error = Status.FAILED, unready[lab.name]
        else:
            start_one(
                workspace,
                lab,
                options,
                progress[lab.name],
                timeout=lab_timeout(lab, timeout),
                on_change=on_change,
                run_id=run_id,
            )
        record_unrecorded(workspace, lab, progress[lab.name], run_id)
        on_done(lab, progress[lab.name])

    def hold_back(lab: Lab) -> bool:
        """Settle a lab whose upstream did not pass without starting it (True), unless ``allow_stale``."""
        ups = [progress[u] for u in needs[lab.name] if not progress[u].ok]
        if not ups or allow_stale:
            return False
        not_run(lab, progress[lab.name], ups)
        record_unrecorded(workspace, lab, progress[lab.name], run_id)
        on_change()
        on_done(lab, progress[lab.name])
        return True

    names = {lab.name for lab in labs}
    needs = {lab.name: [u for u in (graph or {}).get(lab.name, []) if u in names] for lab in labs}
    waiting = longest_first(labs)
    finished: set[str] = set()
    running: dict[Future[None], str] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        while waiting or running:
            for lab in [lab for lab in waiting if all(u in finished for u in needs[lab.name])]:
                waiting.remove(lab)
                if hold_back(lab):
                    finished.add(lab.name)
                else:
                    running[pool.submit(one, lab)] = lab.name
            if not running:
                if waiting and not any(all(u in finished for u in needs[lab.name]) for lab in waiting):
                    names_left = ", ".join(lab.name for lab in waiting)
                    raise BuildCPGError(f"labs wait on each other (a cycle through their inputs): {names_left}")
                continue  # labs were held back: their readers may be decidable now
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                future.result()
                finished.add(running.pop(future))
    return progress


def start_one(
    workspace: Workspace,
    lab: Lab,
    options: RunOptions,
    progress: LabProgress,
    *,
    timeout: float | None,
    on_change: Callable[[], None],
    run_id: str,
) -> None:
    """``run_one`` unless the run is stopping; a lab that cannot start fails alone, with one line."""
    if CHILDREN.stopping.is_set():  # the run was stopped: start no further lab
        progress.state, progress.error = Status.FAILED, f"not started: {CHILDREN.reason}"
        return
    try:
        run_one(workspace, lab, options, progress, timeout=timeout, on_change=on_change, run_id=run_id)
    except Exception as err:  # a broken venv or missing python must not stop the others
        progress.state, progress.error = Status.FAILED, f"could not start: {err}"


def not_run(lab: Lab, progress: LabProgress, upstreams: list[LabProgress]) -> None:
    """A lab not started because an upstream did not pass: ``skipped`` when one failed (exit 1),
    ``busy`` when they were only running elsewhere (exit 3). Its last published version stays."""
    said = ", ".join(f"{u.lab} ({u.state})" for u in upstreams)
    if all(u.busy for u in upstreams):
        progress.state = Status.BUSY
        progress.error = f"not run: upstream busy (running elsewhere): {said}; run it again when that run ends"
    else:
        progress.state = Status.SKIPPED
        progress.error = f"skipped (upstream failed): {said}; its last published version stays"
    progress.started_at = progress.finished_at = now_iso()
    progress.duration_s = 0.0


def record_unrecorded(workspace: Workspace, lab: Lab, progress: LabProgress, run_id: str) -> None:
    """Record through the run service what the lab process could not record itself; never twice.
    A history that cannot be written is said in the lab's error (the other labs go on)."""
    if progress.recorded:
        return
    try:
        sent = record_lab_run(workspace, lab, progress.record(), run_id=run_id, command=f"buildcpg run {lab.name}")
    except (sqlite3.Error, OSError, BuildCPGError) as err:
        progress.error = f"{progress.error}; not recorded in the history: {first_line(err)}".lstrip("; ")
        return
    progress.alerts += [delivery_dict(d) for d in sent]
    progress.recorded = True


def _last_duration(lab: Lab) -> float:
    try:
        return float(json.loads(lab.paths.last_run_file.read_text(encoding="utf-8")).get("duration_s") or 0.0)
    except (OSError, ValueError, TypeError, AttributeError):
        return 0.0


def longest_first(labs: list[Lab]) -> list[Lab]:
    """Start the labs that took longest last time first, so a slow lab never starts last and
    leaves a job slot idle at the end (longest-processing-time-first scheduling)."""
    return sorted(labs, key=_last_duration, reverse=True)


def failure_tail(progress: LabProgress) -> str:
    """The last lines of a failed lab's log, for the summary."""
    return _tail(progress.log) if progress.log else ""
