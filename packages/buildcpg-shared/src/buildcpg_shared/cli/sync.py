"""``buildcpg sync``: give each lab its own venv, exactly as uv.lock says (--locked)."""

from __future__ import annotations

import time

import typer

from buildcpg_shared.cli.common import console
from buildcpg_shared.cli.params import all_option, every_lab_unless_named
from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.orchestrate.uv import sync_lab
from buildcpg_shared.registry import Workspace


def sync_command(
    labs: list[str] | None = typer.Argument(None, help="labs to sync (default: every lab)"),
    all_labs: bool = all_option("sync"),
) -> None:
    """Create or update labs/<lab>/.venv with `uv sync --locked --package <lab>`."""
    workspace = Workspace.find()
    selected = every_lab_unless_named(workspace, labs, all_labs)
    failed = []
    for lab in selected:
        start = time.perf_counter()
        console.print(f"syncing {lab.name} → {lab.paths.venv.relative_to(workspace.root)} …")
        result = sync_lab(workspace, lab)
        took = time.perf_counter() - start
        if result.ok:
            console.print(f"  [green]ok[/] in {took:.1f}s ({result.last_line()})")
        else:
            failed.append(lab.name)
            console.print(f"  [red]failed[/]: {result.output}")
    if failed:
        raise BuildCPGError(f"sync failed for {', '.join(failed)} (uv output above)")
