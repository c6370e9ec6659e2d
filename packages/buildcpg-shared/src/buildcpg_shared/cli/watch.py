"""``buildcpg watch``: run a lab whenever a complete new or changed file lands in its raw folder."""

from __future__ import annotations

import signal

import typer
from rich.markup import escape

from buildcpg_shared.cli.common import console, select_labs
from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.orchestrate.parallel import new_progress, run_labs
from buildcpg_shared.orchestrate.recorder import RunRecorder
from buildcpg_shared.orchestrate.service import delivery_line
from buildcpg_shared.orchestrate.uv import venv_problems
from buildcpg_shared.orchestrate.watch import LabWatcher
from buildcpg_shared.registry import Lab, Workspace
from buildcpg_shared.run_record import STEP_NAMES, RunOptions


def watch_command(
    labs: list[str] | None = typer.Argument(None, help="labs to watch (see `buildcpg labs`)"),
    all_labs: bool = typer.Option(False, "--all", help="watch every lab"),
    debounce: float = typer.Option(2.0, "--debounce", help="seconds of quiet in a raw folder before a run"),
    steps: str = typer.Option(",".join(STEP_NAMES), "--steps", help="steps of each triggered run"),
    wait: float = typer.Option(
        30.0, "--wait", help="seconds a triggered run waits for a run of the same lab started elsewhere"
    ),
    no_sync: bool = typer.Option(False, "--no-sync", help="do not sync a missing or stale lab venv first"),
) -> None:
    """Watch labs' data/raw folders; run a lab (debounced, never twice at once) when files arrive.

    Every triggered run is recorded in .buildcpg/history.sqlite and alerts, as with `buildcpg run`.
    Stops cleanly on Ctrl-C: a run in progress is allowed to finish.
    """
    workspace = Workspace.find()
    workspace.config  # noqa: B018 - a broken buildcpg.yaml: one line before anything runs
    options = RunOptions(steps=RunOptions.parse_steps(steps), wait=wait)
    selected = select_labs(workspace, labs, all_labs)
    unready = venv_problems(workspace, selected, console.print, sync=not no_sync)
    for problem in unready.values():  # a lab without a venv is not watched; the others are
        console.print(f"[red]✗[/] {escape(problem)}")
    selected = [lab for lab in selected if lab.name not in unready]
    if not selected:
        raise BuildCPGError("no lab left to watch (see the lines above)")

    def run(lab: Lab) -> None:
        console.print(f"{lab.name}: raw folder changed, running …")
        recorder = RunRecorder(workspace, f"buildcpg watch {lab.name}", [lab.name])
        done = run_labs(workspace, [lab], options, jobs=1, progress=new_progress([lab]), run_id=recorder.run_id)
        recorder.finish(done, check_stale=False)
        progress = done[lab.name]
        detail = f": {progress.error}" if progress.error else ""
        console.print(f"{lab.name}: run {progress.state} in {progress.duration:.1f}s{detail}", markup=False)
        for delivery in recorder.deliveries:
            console.print(delivery_line(delivery), markup=False)

    watcher = LabWatcher(selected, run, debounce=debounce)

    def on_signal(signum: int, frame: object) -> None:
        watcher.stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    names = ", ".join(lab.name for lab in selected)
    watcher.start()  # before saying "watching": a file dropped right after that line must be seen
    console.print(f"watching {names} (debounce {debounce:g}s); Ctrl-C to stop", markup=False)
    watcher.serve()  # returns after Ctrl-C, once a run in progress has finished
    console.print("stopped")
