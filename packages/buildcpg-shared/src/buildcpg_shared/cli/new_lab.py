"""``buildcpg new-lab``, ``upgrade-lab`` and ``remove-lab``: add, update or drop a lab in one command."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from buildcpg_shared.cli.common import console
from buildcpg_shared.registry import Workspace
from buildcpg_shared.scaffold import create_lab, remove_lab
from buildcpg_shared.scaffold.upgrade import NEW_SUFFIX, upgrade_lab


def new_lab_command(
    name: str = typer.Argument(..., help="lab folder name: lowercase lab<N>_<words>, e.g. lab4_price_elasticity"),
    from_dbt: Path | None = typer.Option(
        None, "--from-dbt", help="wrap this existing dbt project (copied unchanged) instead of the template's"
    ),
    gold: list[str] | None = typer.Option(
        None,
        "--gold",
        help="with --from-dbt: the models that are the lab's gold, dbt selection syntax; repeat or separate "
        "with commas for several (union), e.g. --gold marts or --gold orders,customers",
    ),
    no_sync: bool = typer.Option(False, "--no-sync", help="lock only; do not create the lab's venv yet"),
) -> None:
    """Create labs/NAME from the lab template, register it in uv.lock and sync its own venv.

    All or nothing: on any failure the lab folder is removed and pyproject.toml / uv.lock are restored.
    """
    workspace = Workspace.find()
    start = time.perf_counter()
    selection = [item.strip() for value in gold or [] for item in value.split(",") if item.strip()]
    lab = create_lab(
        workspace,
        name,
        from_dbt=from_dbt,
        gold=selection,
        sync=not no_sync,
        say=lambda text: console.print(f"  {text}", markup=False, highlight=False),
    )
    took = time.perf_counter() - start
    console.print(f"[green]created[/] {lab.paths.root.relative_to(workspace.root)} in {took:.1f}s")
    console.print(f"next: `buildcpg run {lab.name}` (or `make run` in the lab), then edit lab.yaml and dbt/models")
    if from_dbt and not selection:
        console.print("no --gold given: nothing is published until lab.yaml says which models are gold (gold: select:)")


def remove_lab_command(
    name: str = typer.Argument(..., help="the lab to delete"),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask for confirmation"),
) -> None:
    """Delete labs/NAME (its raw data, database and venv included) and drop it from uv.lock."""
    workspace = Workspace.find()
    lab = workspace.lab(name)
    if not yes:
        typer.confirm(f"delete {lab.paths.root} with its data and venv?", abort=True)
    remove_lab(workspace, name, say=lambda text: console.print(f"  {text}"))
    console.print(f"[green]removed[/] labs/{name}")


def upgrade_lab_command(
    name: str = typer.Argument(..., help="a lab created by `buildcpg new-lab`"),
    dry_run: bool = typer.Option(False, "--dry-run", help="only say what would change"),
) -> None:
    """Apply the template's changes to labs/NAME; files edited in the lab are never overwritten.

    An edited file that the template also changed is kept; the template's version is written next to
    it as <file>.template-new to merge by hand.
    """
    workspace = Workspace.find()
    report = upgrade_lab(workspace, name, dry_run=dry_run, say=lambda text: console.print(f"  {text}"))
    verb = "would be " if dry_run else ""
    for label, files in (("updated", report.updated), ("added", report.added)):
        for rel in files:
            console.print(f"  {verb}{label}: {rel}")
    for rel in report.kept:
        console.print(f"  [yellow]kept[/] (edited here, changed in the template): {rel} → see {rel}{NEW_SUFFIX}")
    console.print(
        f"{name}: {len(report.updated)} {verb}updated, {len(report.added)} {verb}added, "
        f"{len(report.kept)} kept, {report.unchanged} unchanged" + ("; uv.lock updated" if report.relocked else "")
    )
