"""``buildcpg run --dry-run``: what would run, read without writing anything."""

from __future__ import annotations

import duckdb
from rich.console import Console
from rich.table import Table

from buildcpg_shared.errors import BuildCPGError, first_line, is_damage, is_lock_conflict
from buildcpg_shared.ingest.check import scan
from buildcpg_shared.ingest.ledger import arrival_order, read_ledger
from buildcpg_shared.inspect.readonly import running_run
from buildcpg_shared.orchestrate.graph import levels
from buildcpg_shared.orchestrate.schedule import schedule_problem
from buildcpg_shared.orchestrate.uv import venv_is_current
from buildcpg_shared.registry import Lab, Workspace
from buildcpg_shared.run_record import STEP_NAMES


def pending_files(lab: Lab, *, full_refresh: bool = False) -> str:
    """Raw files the next run would load, read from the ledger (read-only); a note if it cannot tell."""
    database = lab.paths.database()
    holder = running_run(lab)
    if holder is not None:  # never open the working database under a run
        return f"unknown (a run is on: {holder})"
    try:
        known, arrival = {}, {}
        if database.exists():
            with duckdb.connect(str(database), read_only=True) as con:
                known = {} if full_refresh else read_ledger(con)
                arrival = arrival_order(con, before_reset=full_refresh)
        plan = scan(lab.paths.raw_dir, lab.config, known)
        plan.arrival = arrival  # the order the run would load them in
    except duckdb.Error as err:
        if is_lock_conflict(err):
            return "unknown (database busy)"
        if is_damage(err):
            return f"unknown ({lab.paths.shown(database)} is damaged: run with --rebuild)"
        return f"unknown (cannot read {database}: {first_line(err)})"
    except BuildCPGError as err:
        return f"unknown ({err})"
    files = [f.rel for f in plan.pending]
    return ", ".join(files[:5]) + (f" (+{len(files) - 5} more)" if len(files) > 5 else "") if files else "none"


def print_plan(
    console: Console,
    workspace: Workspace,
    labs: list[Lab],
    steps: list[str],
    *,
    full_refresh: bool,
    graph: dict[str, list[str]] | None = None,
) -> None:
    """A table of the labs that would run, in the order they would start: wave (a lab starts after
    the labs it reads), inputs, venv, steps, files pending; nothing is run or written."""
    graph = graph or {}
    by_name = {lab.name: lab for lab in labs}
    waves = levels(graph, by_name)
    table = Table(title=f"dry run: {len(labs)} lab(s) would run (nothing was run)")
    for column in ("wave", "lab", "reads", "venv", "steps", "schedule", "pending files"):
        table.add_column(column)
    ordered = ",".join(s for s in STEP_NAMES if s in steps) + (" (full refresh)" if full_refresh else "")
    for wave, names in enumerate(waves, start=1):
        for name in names:
            lab = by_name[name]
            venv = str(lab.paths.venv_python.relative_to(workspace.root))
            problem = workspace.env_problem(lab) if not venv_is_current(workspace, lab) else ""
            state = f" (would fail: {problem})" if problem else ""
            state = state or ("" if venv_is_current(workspace, lab) else " (would sync first)")
            reads = ", ".join(u + ("" if u in by_name else " (last published)") for u in graph.get(name, []))
            table.add_row(
                str(wave),
                lab.name,
                reads,
                venv + state,
                ordered,
                "" if schedule_problem(lab) else (lab.config.schedule or ""),
                pending_files(lab, full_refresh=full_refresh),
            )
    console.print(table)
    if len(waves) > 1:
        console.print("order: " + " → ".join(" + ".join(wave) for wave in waves))
