"""Render inspector output as a terminal table (rich), JSON or Markdown from one description."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

FORMATS = ("table", "json", "markdown")


@dataclass
class Section:
    """A titled table: what every format renders."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""


def number(value: float) -> str:
    """A float for people: grouped digits and never e-notation (12,345.68; 654.40; 0.0000123)."""
    if not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:,.2f}"
    text = f"{value:.4g}"
    return format(Decimal(text), "f") if "e" in text else text  # a tiny value: fixed point, 4 digits


def cell(value: Any) -> str:
    """A short human text for one value."""
    if value is None:
        return ""
    if isinstance(value, float):
        return number(value)
    if isinstance(value, Decimal):
        return f"{value:,}"  # money stays exact: 12,345.67
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def to_markdown(sections: list[Section], heading: str = "") -> str:
    out = [f"# {heading}", ""] if heading else []
    for section in sections:
        out += [f"## {section.title}", ""]
        if section.note:
            out += [section.note, ""]
        if not section.rows:
            out += ["(none)", ""]
            continue
        out.append("| " + " | ".join(section.columns) + " |")
        out.append("|" + "|".join("---" for _ in section.columns) + "|")
        out += ["| " + " | ".join(cell(v).replace("|", "\\|") for v in row) + " |" for row in section.rows]
        out.append("")
    return "\n".join(out)


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)


def print_tables(console: Console, sections: list[Section], heading: str = "") -> None:
    if heading:
        console.print(f"[bold]{heading}[/bold]")
    for section in sections:
        table = Table(title=section.title, title_justify="left", caption=section.note or None)
        for column in section.columns:
            table.add_column(column, overflow="fold")
        for row in section.rows:
            table.add_row(*(cell(v) for v in row))
        if not section.rows:
            table.add_row(*(["(none)"] + [""] * (len(section.columns) - 1)))
        console.print(table)


def emit(fmt: str, console: Console, sections: list[Section], heading: str, data: dict[str, Any]) -> None:
    """Print ``data`` as JSON, or ``sections`` as Markdown or rich tables."""
    if fmt == "json":
        print(to_json(data))
    elif fmt == "markdown":
        print(to_markdown(sections, heading))
    else:
        print_tables(console, sections, heading)
