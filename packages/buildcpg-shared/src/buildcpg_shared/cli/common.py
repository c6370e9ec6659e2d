"""Helpers shared by the CLI commands: workspace, lab selection, console."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

from buildcpg_shared.errors import BuildCPGError, is_damage
from buildcpg_shared.inspect.readonly import LabReader, damaged, open_lab
from buildcpg_shared.inspect.render import FORMATS
from buildcpg_shared.registry import Lab, Workspace

# Piped output (CI logs, `| tee`) has no terminal width: rich would wrap tables at 80 columns and cut
# lab names. Use a wide layout there unless COLUMNS says otherwise.
_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160
console = Console(highlight=False, width=_WIDTH)
err_console = Console(stderr=True, highlight=False, width=_WIDTH)


def select_labs(workspace: Workspace, names: list[str] | None, all_labs: bool) -> list[Lab]:
    """Labs named on the command line, or every lab with ``--all`` (or when none are named and allowed)."""
    if all_labs and names:
        raise BuildCPGError("give lab names or --all, not both")
    if all_labs:
        labs = workspace.labs()
        if not labs:
            raise BuildCPGError(f"no labs under {workspace.labs_dir}")
        return labs
    if not names:
        raise BuildCPGError("name at least one lab (see `buildcpg labs`) or pass --all")
    return [workspace.lab(name) for name in dict.fromkeys(names)]


def lab_title(lab: Lab, workspace: Workspace | None = None) -> tuple[str, str]:
    """(title, "") of a lab, or ("", one-line reason) when its lab.yaml is broken or, given the
    ``workspace``, when it has no venv and uv cannot make one (no pyproject.toml, not a workspace member)."""
    try:
        title = lab.config.title
    except BuildCPGError as err:
        return "", str(err)
    can_run = workspace is None or lab.paths.venv_python.exists()  # `buildcpg doctor` checks every lab
    problem = "" if can_run else workspace.env_problem(lab)  # type: ignore[union-attr]
    return ("", problem) if problem else (title, "")


@contextmanager
def read_lab(lab_name: str, fmt: str) -> Iterator[tuple[Lab, LabReader]]:
    """The lab and a read-only reader of its data (serving copy while a run writes it, said on stderr)."""
    if fmt not in FORMATS:
        raise BuildCPGError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    lab = Workspace.find().lab(lab_name)
    reader = open_lab(lab)
    try:
        if reader.note:
            err_console.print(f"[yellow]{reader.note}[/yellow]")
        yield lab, reader
    except Exception as err:
        if reader.source == "database" and is_damage(err):  # a damaged block found while reading
            raise damaged(lab, err) from err
        raise
    finally:
        reader.close()
