"""Header mapping: which contract column each column of a file is.

A contract column matches the file's header of the same name, or the header it names with
``from:`` (e.g. ``from: "feat.yoplait"``). With ``headers: snake_case`` the file's headers are
normalised first (``Sale Date`` → ``sale_date``, ``UNITS`` → ``units``). The columns of a file
may come in any order; the raw table keeps the contract's names and order.
"""

from __future__ import annotations

import re
import unicodedata

from buildcpg_shared.config import SourceConfig

_NOT_WORD = re.compile(r"[^a-z0-9]+")


def snake_case(header: str) -> str:
    """``Sale Date`` → ``sale_date``, ``feat.yoplait`` → ``feat_yoplait``, ``Prix (€)`` → ``prix``."""
    plain = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode("ascii")
    plain = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", plain)  # camelCase → camel_Case
    return _NOT_WORD.sub("_", plain.lower()).strip("_")


def map_header(header: list[str], source: SourceConfig) -> tuple[list[str | None], list[str]]:
    """(the contract column of each file column, or None; the problems, each a short phrase)."""
    by_header = {spec.from_.strip(): name for name, spec in source.columns.items() if spec.from_ is not None}
    by_name = {name: name for name, spec in source.columns.items() if spec.from_ is None}
    mapped: list[str | None] = []
    for cell in header:
        name = by_header.get(cell)
        if name is None:
            name = by_name.get(snake_case(cell) if source.headers == "snake_case" else cell)
        mapped.append(name)
    problems: list[str] = []
    missing = [c for c in source.columns if c not in mapped]
    plain = [c for c in missing if source.columns[c].from_ is None]
    if plain:
        problems.append(f"missing {', '.join(plain)}")
    problems += [f"missing header {source.columns[c].from_!r} (column {c})" for c in missing if c not in plain]
    extra = [cell for cell, name in zip(header, mapped, strict=True) if name is None]
    if extra:
        problems.append(f"unexpected {', '.join(extra)}")
    twice = sorted({n for n in mapped if n is not None and mapped.count(n) > 1})
    if twice:
        problems.append(f"more than one header maps to {', '.join(twice)}")
    return mapped, problems
