"""``buildcpg schedule``: the crontab lines (or systemd timer) that run each lab on its lab.yaml schedule."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import typer

from buildcpg_shared.cli.common import console, err_console
from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.orchestrate.schedule import crontab_block, merge_crontab, schedule_problem, systemd_units
from buildcpg_shared.registry import Workspace


def _buildcpg() -> str:
    """This buildcpg executable (absolute), so cron finds it without the venv on PATH."""
    found = Path(sys.executable).parent / "buildcpg"
    return str(found) if found.exists() else (shutil.which("buildcpg") or "buildcpg")


NO_SCHEDULE = (
    'no lab has a schedule: add one to a lab\'s lab.yaml, e.g. `schedule: "0 6 * * *"` (cron: daily at 06:00), '
    "then run `buildcpg schedule --install`"
)


def schedule_command(
    install: bool = typer.Option(False, "--install", help="write the lines into the crontab (replacing ours)"),
    crontab_file: Path | None = typer.Option(
        None, "--crontab-file", help="with --install: edit this file instead of the user's crontab"
    ),
    systemd: bool = typer.Option(False, "--systemd", help="print a systemd service + timer running `run --due`"),
) -> None:
    """Print the crontab lines that run each scheduled lab (schedule: in lab.yaml), or install them.

    Each lab runs under its own lock, so a scheduled run and `buildcpg watch` or a manual run never
    run the same lab twice at once: the second one is refused and recorded as busy. A lab whose
    lab.yaml is broken is one line on stderr and left out; the others are printed or installed, exit 1.
    """
    workspace = Workspace.find()
    broken = [problem for problem in map(schedule_problem, workspace.labs()) if problem]
    for problem in broken:  # the other labs are still scheduled
        err_console.print(f"✗ {problem} (this lab is not scheduled until it is fixed)", markup=False)
    _schedule(workspace, install=install, crontab_file=crontab_file, systemd=systemd)
    if broken:
        raise typer.Exit(1)


def _schedule(workspace: Workspace, *, install: bool, crontab_file: Path | None, systemd: bool) -> None:
    """Print or install the lines of every lab whose lab.yaml can be read."""
    if not any(lab.config.schedule for lab in workspace.labs() if not schedule_problem(lab)):
        err_console.print(NO_SCHEDULE, markup=False)
        if not install:
            return
    if systemd:
        for name, text in systemd_units(workspace, _buildcpg()).items():
            print(f"# {name}\n{text}")
        return
    block = crontab_block(workspace, _buildcpg())
    if not install:
        print(block, end="")
        return
    if crontab_file is not None:
        existing = crontab_file.read_text(encoding="utf-8") if crontab_file.exists() else ""
        crontab_file.write_text(merge_crontab(existing, block, workspace.root), encoding="utf-8")
        console.print(f"installed {block.count(chr(10)) - 2} line(s) into {crontab_file}")
        return
    if not shutil.which("crontab"):
        raise BuildCPGError("no `crontab` command on this machine: use --systemd, or --crontab-file PATH")
    current = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
    merged = merge_crontab(current.stdout if current.returncode == 0 else "", block, workspace.root)
    done = subprocess.run(["crontab", "-"], input=merged, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BuildCPGError(f"crontab - failed: {done.stderr.strip()}")
    console.print(f"installed {block.count(chr(10)) - 2} line(s) into the crontab of this user")
