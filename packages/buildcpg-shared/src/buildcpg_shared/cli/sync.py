"""``buildcpg sync``: give each lab its own venv, exactly as uv.lock says (--locked)."""

from __future__ import annotations

import time

import typer
from rich.markup import escape

from buildcpg_shared.cli.common import console
from buildcpg_shared.cli.params import all_option, every_lab_unless_named
from buildcpg_shared.orchestrate.uv import sync_lab, uv_problem
from buildcpg_shared.registry import Workspace


def sync_command(
    labs: list[str] | None = typer.Argument(None, help="labs to sync (default: every lab)"),
    all_labs: bool = all_option("sync"),
) -> None:
    """Create or update labs/<lab>/.venv with `uv sync --locked --package <lab>`.

    A lab uv cannot sync is one line and the others are still synced; exits 1 when any lab failed.
    """
    workspace = Workspace.find()
    selected = every_lab_unless_named(workspace, labs, all_labs)
    failed: list[str] = []
    for lab in selected:
        problem = workspace.env_problem(lab)
        if problem:
            failed.append(lab.name)
            console.print(f"[red]✗[/] {escape(problem)}")
            continue
        start = time.perf_counter()
        console.print(f"syncing {lab.name} → {lab.paths.venv.relative_to(workspace.root)} …")
        result = sync_lab(workspace, lab)
        took = time.perf_counter() - start
        if result.ok:
            console.print(f"  [green]ok[/] in {took:.1f}s ({escape(result.last_line())})")
        else:
            failed.append(lab.name)
            console.print(f"  [red]failed[/]: {escape(result.output)}")
            console.print(f"[red]✗[/] {escape(f'{lab.folder}: uv sync failed: {uv_problem(result)}')}")
    if failed:
        synced = len(selected) - len(failed)
        console.print(f"{synced} of {len(selected)} lab venv(s) synced; failed: {', '.join(failed)}")
        raise typer.Exit(1)
