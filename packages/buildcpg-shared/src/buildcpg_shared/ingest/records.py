"""How many data records a raw CSV file holds, counted apart from DuckDB, so every load reconciles.

DuckDB's parallel reader can drop a record silently (a field longer than its buffer: no row, no
reject). The loader therefore checks that the file's records equal the rows it loaded plus the rows
it quarantined, and refuses the file when they do not.

Two passes, both streaming in 1 MiB blocks, so a file is never held in memory:

- ``lines``: the file's line breaks (``\\n``, ``\\r\\n`` or a lone ``\\r``), counted with
  ``bytes.count`` at disk speed, less blank lines at the very end. Every record starts a line of
  its own, and a quoted line break or a blank line only adds lines, so lines - 1 (the header) >=
  data records. When lines - 1 equals the rows loaded + quarantined, no record can be missing:
  the normal, cheap case.
- ``records``: only when they differ (a quoted line break, a blank line, a lost record), the file is
  read as CSV records by the ``csv`` module (quotes respected, blank lines skipped, no field size
  limit), one record at a time.
"""

from __future__ import annotations

import codecs
import csv
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from buildcpg_shared.ingest.encoding import python_encoding

_BLOCK = 1 << 20
_ASCII_LINE_BREAKS = {"utf-8", "utf-8-sig", "iso8859-1", "ascii"}


def _breaks(data: bytes) -> int:
    """Line breaks in ``data``: ``\n``, ``\r\n`` and a lone ``\r`` count one each."""
    lone_cr = data.count(b"\r")
    if lone_cr:  # Windows or old Mac line breaks
        lone_cr -= data.count(b"\r\n")
    return data.count(b"\n") + lone_cr


def byte_lines(path: Path, encoding: str = "utf-8") -> int | None:
    """Physical lines of a file (a last line without a line break counts; blank lines at the very end
    do not), or None when the encoding does not write a line break as the byte ``\n`` / ``\r`` (UTF-16)."""
    if codecs.lookup(encoding).name not in _ASCII_LINE_BREAKS:
        return None
    lines = 0
    last = b""
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            if last[-1:] == b"\r" and block[:1] == b"\n":
                lines -= 1  # a \r\n split over two blocks was counted as a lone \r
            lines += _breaks(block)
            last = block
    tail = last[len(last.rstrip(b"\r\n")) :]
    blank_at_end = max(_breaks(tail) - 1, 0)  # "\n\n\n" ends a line, then two blank ones
    return lines - blank_at_end + (1 if last and not tail else 0)


@contextmanager
def _no_field_limit() -> Iterator[None]:
    previous = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def csv_records(path: Path, *, delimiter: str = ",", encoding: str = "utf-8") -> int:
    """Data records of a CSV file (the header and blank lines not counted), read one by one."""
    with (
        _no_field_limit(),
        path.open("r", encoding=python_encoding(encoding), errors="surrogateescape", newline="") as handle,
    ):
        reader = csv.reader(handle, delimiter=delimiter, skipinitialspace=True)  # DuckDB: a quote after spaces opens
        count = sum(1 for row in reader if row)
    return max(count - 1, 0)


class RecordCount:
    """The data records of one file, for checking a load: cheap lines first, exact records if needed."""

    def __init__(self, path: Path, *, delimiter: str = ",", encoding: str = "utf-8") -> None:
        self.path = path
        self.delimiter = delimiter
        self.encoding = encoding
        self._lines: int | None = None
        self._lines_known = False
        self._records: int | None = None

    def _cheap(self) -> int | None:
        if not self._lines_known:
            self._lines, self._lines_known = byte_lines(self.path, self.encoding), True
        return self._lines

    def records(self) -> int:
        """The exact number of data records (read once, then remembered)."""
        if self._records is None:
            self._records = csv_records(self.path, delimiter=self.delimiter, encoding=self.encoding)
        return self._records

    def agrees(self, accounted: int) -> bool:
        """True when ``accounted`` rows (loaded + quarantined) are every data record of the file."""
        lines = self._cheap()
        if lines is not None and max(lines - 1, 0) == accounted:
            return True
        return self.records() == accounted
