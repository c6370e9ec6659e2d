"""``buildcpg inspect LAB [TABLE]``: tables, profiles, samples and changes, read-only."""

from __future__ import annotations

from typing import Any

import typer

from buildcpg_shared.cli.common import console, read_lab
from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.inspect import DataInspector
from buildcpg_shared.inspect.render import FORMATS, Section, emit


def overview_sections(inspector: DataInspector, schemas: list[str] | None) -> tuple[list[Section], dict[str, Any]]:
    """Tables with rows and sizes, and the changes since the previous run."""
    infos = inspector.overview(schemas)
    changes = inspector.changes()
    sections = [
        Section(
            "Tables",
            ["schema", "table", "kind", "rows", "columns", "on disk"],
            [[t.schema, t.name, t.kind, t.rows, t.columns, _size(t.size_bytes)] for t in infos],
            note="on disk: the DuckDB blocks a table holds (whole blocks: a small table still takes one)",
        ),
        Section(
            "Changes since the previous run",
            ["table", "change", "detail"],
            [[c.table, c.kind, c.detail] for c in changes],
        ),
    ]
    return sections, {"tables": [t.to_dict() for t in infos], "changes": [c.to_dict() for c in changes]}


def table_sections(inspector: DataInspector, schema: str, table: str, sample: int) -> tuple[list[Section], dict]:
    """Per-column profile and sample rows of one table."""
    if (schema, table) not in inspector.tables():
        raise BuildCPGError(f"no table {schema}.{table} (see `buildcpg inspect LAB` for the list)")
    profile = inspector.profile(schema, table)
    distinct = "distinct" if profile.distinct_exact else "distinct≈"
    rows = inspector.sample(schema, table, sample)
    profile_rows = [
        [
            c.name,
            c.type,
            c.nulls,
            f"{c.nulls / profile.rows:.1%}" if profile.rows else "",
            c.distinct,
            c.min,
            c.max,
            c.mean,
            ", ".join(f"{v} ({n:,})" for v, n in c.top_values),
        ]
        for c in profile.columns
    ]
    sections = [
        Section(
            f"{schema}.{table}: {profile.rows:,} rows",
            ["column", "type", "nulls", "null %", distinct, "min", "max", "mean", "top values"],
            profile_rows,
        ),
        Section(f"Sample ({len(rows.rows)} rows)", rows.columns, [list(r) for r in rows.rows]),
    ]
    return sections, {"profile": profile.to_dict(), "sample": rows.to_dict()}


def _size(size: int | None) -> str:
    if size is None:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return ""


def inspect_command(
    lab_name: str = typer.Argument(..., metavar="LAB", help="the lab to inspect"),
    table: str | None = typer.Argument(None, help="schema.table to profile (default schema: gold)"),
    fmt: str = typer.Option("table", "--format", "-f", help=f"output format: {', '.join(FORMATS)}"),
    schemas: list[str] | None = typer.Option(None, "--schema", help="limit the listing to this schema (repeatable)"),
    sample: int = typer.Option(5, "--sample", min=0, help="sample rows shown with a table profile"),
) -> None:
    """Schemas and tables with row counts and sizes, or one table's column profile and sample rows.

    Opens the lab database read-only; while a run writes it, reads the serving copy instead.
    """
    with read_lab(lab_name, fmt) as (lab, reader):
        inspector = DataInspector(reader.con)
        if table:
            schema, _, name = table.rpartition(".")
            sections, data = table_sections(inspector, schema or "gold", name, sample)
        else:
            sections, data = overview_sections(inspector, schemas)
    heading = f"{lab.name} ({'serving copy' if reader.source == 'serving' else 'lab database'})"
    emit(fmt, console, sections, heading, {"lab": lab.name, "source": reader.source, **data})
