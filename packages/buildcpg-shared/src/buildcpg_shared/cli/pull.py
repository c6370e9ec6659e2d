"""``buildcpg pull LAB --to PATH``: the current published copy of a lab from storage, for a BI tool."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from buildcpg_shared.cli.common import console
from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.registry import Workspace
from buildcpg_shared.store import SharedGold


def pull_command(
    lab_name: str = typer.Argument(..., metavar="LAB", help="the lab whose published gold to fetch"),
    to: Path = typer.Option(..., "--to", help="the local DuckDB file to write (replaced atomically)"),
) -> None:
    """Fetch the lab's current published version from shared storage into PATH.

    Reads serving/<lab>/CURRENT.json, then the version it names, streamed to a temporary beside PATH;
    the sha256 is checked, then the file replaces PATH in one rename: a BI tool that opens PATH sees
    the previous copy or the new one, never a mix. Needs shared storage (buildcpg.yaml shared.storage
    or BUILDCPG_STORAGE; credentials from the AWS env vars). Without it, BI tools read
    labs/<lab>/data/serving/<lab>.duckdb directly.
    """
    workspace = Workspace.find()
    lab = workspace.lab(lab_name)
    settings = workspace.shared
    if not settings.storage:
        raise BuildCPGError(
            f"no shared storage set (buildcpg.yaml shared.storage or BUILDCPG_STORAGE): BI tools read "
            f"{lab.paths.shown(lab.paths.serving_file)} on this machine"
        )
    pointer = SharedGold.from_url(settings.storage, settings.keep_versions).pull(lab.name, to)
    console.print(
        f"[green]✓[/] {escape(lab.name)} v{pointer.version} (run {escape(pointer.run_id)}, published "
        f"{escape(pointer.published_at)}) → {escape(str(to))}"
    )
