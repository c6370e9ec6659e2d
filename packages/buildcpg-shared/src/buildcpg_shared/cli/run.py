"""``buildcpg run``: run labs concurrently, each in its own venv, with live progress and a summary."""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections.abc import Callable

import typer
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from buildcpg_shared.cli.common import console, select_labs
from buildcpg_shared.cli.quality import quality_cell
from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.history import history_for
from buildcpg_shared.orchestrate.dry_run import print_plan
from buildcpg_shared.orchestrate.graph import downstream_of, lab_graph
from buildcpg_shared.orchestrate.parallel import (
    LabProgress,
    failure_tail,
    new_progress,
    run_exit_code,
    run_labs,
    stop_children_on_signals,
)
from buildcpg_shared.orchestrate.recorder import RunRecorder
from buildcpg_shared.orchestrate.schedule import due_labs
from buildcpg_shared.orchestrate.uv import venv_problems
from buildcpg_shared.pipeline.dbt_invoke import dbt_threads
from buildcpg_shared.registry import Lab, Workspace
from buildcpg_shared.run_record import STEP_NAMES, RunOptions, Status, StepRecord

_STYLE = {
    "ok": "green",
    "warn": "yellow",
    "failed": "red",
    "busy": "yellow",
    "skipped": "dim",
    "running": "cyan",
    "queued": "dim",
}


def _cell(step: StepRecord | None) -> str:
    if not step:
        return ""
    rows_text = f" {step.rows:,}" if step.rows is not None and step.status != "skipped" else ""
    return f"[{_STYLE.get(step.status, '')}]{step.status}[/] {step.duration_s:.1f}s{rows_text}"


def _table(progress: dict[str, LabProgress], title: str) -> Table:
    table = Table(title=title)
    table.add_column("lab")
    table.add_column("status")
    for name in STEP_NAMES:
        table.add_column(name)
    table.add_column("time", justify="right")
    table.add_column("quality", justify="right")
    for lab, p in progress.items():
        state = p.state if p.state != "running" else f"running {p.current}".strip()
        if p.state == "running" and p.nodes and "transform" not in p.steps:
            state = f"running transform [{p.nodes[-1].index}/{p.nodes[-1].total}]"
        table.add_row(
            lab,
            f"[{_STYLE.get(p.state, '')}]{state}[/]",
            *(_cell(p.steps.get(s)) for s in STEP_NAMES),
            f"{p.duration:.1f}s",
            quality_cell(p.steps.get("inspect")) or (f"{p.quality:g}" if p.quality is not None else ""),
        )
    return table


def run_command(
    labs: list[str] | None = typer.Argument(None, help="labs to run (see `buildcpg labs`)"),
    all_labs: bool = typer.Option(False, "--all", help="run every lab"),
    jobs: int = typer.Option(
        0, "--jobs", "-j", help="labs at once (default: number of cores); each gets cores // labs-at-once dbt threads"
    ),
    steps: str = typer.Option(
        ",".join(STEP_NAMES), "--steps", help="comma-separated subset of " + ",".join(STEP_NAMES)
    ),
    full_refresh: bool = typer.Option(False, "--full-refresh", help="reload every raw file and rebuild every model"),
    rebuild: bool = typer.Option(
        False, "--rebuild", help="move a damaged lab database aside to data/damaged/ and rebuild it from data/raw"
    ),
    wait: float = typer.Option(
        0.0, "--wait", help="seconds to wait for a lab that is already running (default: refuse)"
    ),
    timeout: float = typer.Option(
        0.0, "--timeout", help="kill a lab run after this many seconds (0: no limit); a lab's timeout_s wins"
    ),
    no_sync: bool = typer.Option(False, "--no-sync", help="do not sync a missing or stale lab venv first"),
    labs_option: str = typer.Option("", "--labs", help="comma-separated lab names (same as naming them)"),
    due: bool = typer.Option(
        False,
        "--due",
        help="run the labs whose schedule (lab.yaml) is due since their last run, the labs reading them, "
        "and labs whose inputs were published since their last run",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="print what would run (order, labs, venvs, steps, pending files)"
    ),
    allow_stale_inputs: bool = typer.Option(
        False,
        "--allow-stale-inputs",
        help="run a lab even when an upstream lab it reads failed, on that upstream's last published version",
    ),
) -> None:
    """Run labs (Check → Load → Transform → Test → Inspect), one process per lab in its own venv.

    Labs that read other labs' published gold (lab.yaml `inputs`) start after those labs have
    finished; when one failed they are skipped (upstream failed), when one was busy they are busy
    too, unless --allow-stale-inputs (run on the upstream's last published version).
    Every run is recorded in .buildcpg/history.sqlite and alerts go to the routes of buildcpg.yaml
    and lab.yaml. Exits 0 when every lab passed, 1 when any lab failed, 3 when none failed but some
    were busy (already running elsewhere, or reading a lab that was, so not run now).
    """
    workspace = Workspace.find()
    workspace.config  # noqa: B018 - a broken buildcpg.yaml: one line before any lab runs
    names = [*(labs or []), *(n.strip() for n in labs_option.split(",") if n.strip())]
    graph = lab_graph(workspace.labs())  # an unknown upstream or a cycle: one line, nothing runs
    selected = _selected(workspace, names, all_labs=all_labs, due=due, graph=graph)
    chosen = RunOptions.parse_steps(steps)  # an unknown step: one line, nothing runs
    if dry_run:
        print_plan(console, workspace, selected, list(chosen), full_refresh=full_refresh, graph=graph)
        raise typer.Exit(0)
    unready = venv_problems(workspace, selected, console.print, sync=not no_sync)  # each fails alone
    jobs = jobs or min(len(selected), os.cpu_count() or 1)
    threads = dbt_threads(min(jobs, len(selected)))  # the cores, shared among the labs running at once
    options = RunOptions(steps=chosen, full_refresh=full_refresh, rebuild=rebuild, wait=wait, threads=threads)
    progress = new_progress(selected)
    stop_children_on_signals()  # SIGTERM/SIGINT/SIGHUP: the lab processes stop too, then the summary
    recorder = RunRecorder(workspace, " ".join(["buildcpg", *sys.argv[1:]])[:500], [lab.name for lab in selected])
    run = functools.partial(
        run_labs,
        workspace,
        selected,
        options,
        jobs=jobs,
        timeout=timeout or None,
        progress=progress,
        run_id=recorder.run_id,  # each lab process records its run in it (the run service)
        graph=graph,
        allow_stale=allow_stale_inputs,
        unready=unready,
    )
    _show_while_running(progress, f"buildcpg run: {len(selected)} lab(s), {jobs} at a time", run)
    recorder.finish(progress)
    _print_summary(progress, recorder.deliveries)
    raise typer.Exit(run_exit_code(progress))


def _selected(
    workspace: Workspace, names: list[str], *, all_labs: bool, due: bool, graph: dict[str, list[str]]
) -> list[Lab]:
    """The labs to run: named, --all, or --due (the due labs plus the labs reading them)."""
    if not due:
        return select_labs(workspace, names or None, all_labs)
    if names or all_labs:
        raise BuildCPGError("--due picks the labs itself: give no lab names and no --all")
    selected = due_labs(workspace, history_for(workspace))
    if not selected:
        console.print("no lab is due")
        raise typer.Exit(0)
    readers = downstream_of(graph, [lab.name for lab in selected])  # they rebuild on what the due labs publish
    return selected + [lab for lab in workspace.labs() if lab.name in readers and lab not in selected]


def _show_while_running(
    progress: dict[str, LabProgress], title: str, run: Callable[..., dict[str, LabProgress]]
) -> None:
    """Call ``run(on_change=...)`` showing progress: a live table on a terminal, else one line per
    finished step; a Transform's per-model lines either way."""
    lock = threading.Lock()
    nodes_seen: dict[str, int] = {}

    def new_node_lines() -> list[str]:  # per-model progress of a Transform, each line once
        lines = []
        for lab, p in progress.items():
            lines += [f"[{lab}]   {node.text()}" for node in p.nodes[nodes_seen.get(lab, 0) :]]
            nodes_seen[lab] = len(p.nodes)
        return lines

    if sys.stdout.isatty():
        with Live(_table(progress, title), console=console, refresh_per_second=4, transient=True) as live:

            def redraw() -> None:
                with lock:
                    for line in new_node_lines():
                        live.console.print(line, markup=False, highlight=False)
                    live.update(_table(progress, title))

            run(on_change=redraw)
        return
    seen: set[tuple[str, str]] = set()

    def print_new_steps() -> None:
        with lock:
            for line in new_node_lines():
                print(line, flush=True)
            for lab, p in progress.items():
                for name, step in list(p.steps.items()):
                    if (lab, name) not in seen:
                        seen.add((lab, name))
                        print(step.line(lab), flush=True)

    run(on_change=print_new_steps)


def _print_summary(progress: dict[str, LabProgress], deliveries: list[dict[str, object]]) -> None:
    """The summary table, the alerts sent, one line per lab that did not pass (with its cause), the count."""
    console.print(_table(progress, "Summary"))
    for delivery in deliveries:
        mark = "[green]sent[/]" if delivery["ok"] else f"[red]NOT sent[/] ({escape(str(delivery['error']))})"
        console.print(f"alert {escape(str(delivery['subject']))} → {escape(str(delivery['route']))}: {mark}")
    busy = [p for p in progress.values() if p.state == Status.BUSY]
    skipped = [p for p in progress.values() if p.state == Status.SKIPPED]
    failed = [p for p in progress.values() if p.state == Status.FAILED]
    for p in busy:
        console.print(f"[yellow]… {p.lab} busy[/]: {escape(p.error)}")
    for p in skipped:
        console.print(f"[yellow]– {p.lab}[/]: {escape(p.error)}")
    for p in failed:
        console.print(f"[red]✗ {p.lab}[/]: {escape(p.error)}")
        tail = failure_tail(p)
        if tail:
            console.print(f"  last lines of {p.log}:", style="dim")
            console.print(tail, markup=False, highlight=False)
    ok = len(progress) - len(failed) - len(busy) - len(skipped)
    console.print(
        f"{ok} of {len(progress)} lab(s) passed"
        + (f", {len(busy)} busy (already running)" if busy else "")
        + (f", {len(skipped)} skipped (upstream failed)" if skipped else "")
    )
