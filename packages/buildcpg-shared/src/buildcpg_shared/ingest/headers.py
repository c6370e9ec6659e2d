"""Header mapping: which contract column each column of a file is.

A contract column matches the file's header of the same name, or the header it names with
``from:`` (e.g. ``from: "feat.yoplait"``). With ``headers: snake_case`` the file's headers are
normalised first (``Sale Date`` → ``sale_date``, ``UNITS`` → ``units``). The columns of a file
may come in any order; the raw table keeps the contract's names and order.

Only a file's first line is read (``read_header``): Check validates the header of every new or
changed file this cheaply, and Load refuses the same file with the same line.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path

from buildcpg_shared.config import SourceConfig
from buildcpg_shared.errors import LoadError
from buildcpg_shared.ingest.encoding import python_encoding
from buildcpg_shared.ingest.s3_raw import raw_name

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


def read_header(path: Path, source: SourceConfig, rel: str = "") -> list[str]:
    """The header row of a CSV (BOM stripped), read with the source's delimiter and encoding.

    Only the first line is read and decoded, so a bad byte further down is left to the row reader
    (which quarantines that row) instead of failing the whole file.
    """
    where = raw_name(rel) if rel else f"data/raw/{path.name}"
    try:
        with path.open("r", encoding=python_encoding(source.encoding), errors="surrogateescape", newline="") as handle:
            text = handle.readline(1 << 20)
    except FileNotFoundError as err:
        raise LoadError(
            f"{where}: disappeared before it was loaded (renamed or deleted during the run); "
            "the next run picks it up under its new name"
        ) from err
    except OSError as err:  # a directory or FIFO put in its place, permissions, an I/O error
        raise LoadError(f"{where}: cannot be read: {err.strerror or err}") from err
    except UnicodeError as err:  # e.g. a UTF-16 file without its byte order mark
        raise LoadError(f"{where}: line 1: not {source.encoding} text ({err})") from err
    bad = next((c for c in text if "\udc80" <= c <= "\udcff"), None)
    if bad is not None:
        byte = f"0x{ord(bad) - 0xDC00:02x}"
        raise LoadError(f"{where}: line 1: not {source.encoding} text (byte {byte} in the header)")
    first = text
    row = next(csv.reader([text.rstrip("\r\n")], delimiter=source.delimiter), None)
    if not first or row is None:
        raise LoadError(f"{where}: the file is empty (expected a header row)")
    return [cell.strip() for cell in row]


def check_header(path: Path, rel: str, source_name: str, source: SourceConfig) -> list[str]:
    """The contract column of each of the file's columns, in file order; the whole file is refused
    (one line naming the headers) when a column is missing, unexpected or mapped twice.

    Check and Load both call this, so ``buildcpg check``, the Check step and the Load step give the
    same line for the same file.
    """
    mapped, problems = map_header(read_header(path, source, rel), source)
    if problems:
        raise LoadError(
            f"{raw_name(rel)}: header does not match the contract of source {source_name!r}: "
            f"{'; '.join(problems)}. File not loaded; fix the file or lab.yaml"
        )
    return [name for name in mapped if name is not None]
