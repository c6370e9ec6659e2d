"""Options shared by the CLI commands: one way to select labs (names, or ``--all``) and one ``--format``."""

from __future__ import annotations

from typing import Any

import typer

from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.inspect.render import FORMATS
from buildcpg_shared.registry import Lab, Workspace


def format_option() -> Any:
    """``--format/-f table|json|markdown`` (every command whose output is a table)."""
    return typer.Option("table", "--format", "-f", help=f"output format: {', '.join(FORMATS)}")


def json_alias() -> Any:
    """The older ``--json`` flag, kept working (hidden): the same as ``--format json``."""
    return typer.Option(False, "--json", hidden=True, help="same as --format json")


def output_format(fmt: str, as_json: bool = False) -> str:
    """The chosen format, checked; ``--json`` wins for old scripts."""
    if fmt not in FORMATS:
        raise BuildCPGError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return "json" if as_json else fmt


def all_option(verb: str) -> Any:
    """``--all``: every lab (for commands that also default to every lab, it only says so)."""
    return typer.Option(False, "--all", help=f"{verb} every lab")


def every_lab_unless_named(workspace: Workspace, names: list[str] | None, all_labs: bool) -> list[Lab]:
    """The named labs, or every lab when none are named (or ``--all``); names and ``--all`` together are refused."""
    if names and all_labs:
        raise BuildCPGError("give lab names or --all, not both")
    return [workspace.lab(n) for n in dict.fromkeys(names)] if names else workspace.labs()


def print_rows(fmt: str, title: str, columns: list[str], rows: list[list[str]], *, right: tuple[str, ...] = ()) -> None:
    """Rows (cells may hold rich markup) as a rich table, or as Markdown (markup dropped)."""
    from rich.table import Table
    from rich.text import Text

    from buildcpg_shared.cli.common import console
    from buildcpg_shared.inspect.render import Section, to_markdown

    if fmt == "markdown":
        plain = [[Text.from_markup(cell).plain for cell in row] for row in rows]
        print(to_markdown([Section(title, columns, plain)]))
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left")
    for row in rows:
        table.add_row(*row)
    console.print(table)
