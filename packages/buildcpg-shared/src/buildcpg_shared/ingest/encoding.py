"""Text encodings of raw files: DuckDB reads UTF-8, UTF-16 and Latin-1 itself; others are transcoded.

DuckDB's CSV reader knows ``utf-8``, ``utf-16`` and ``latin-1`` without an extension (its
``encodings`` extension is downloaded at run time, which an offline machine cannot do). A file in
any other encoding Python knows (``cp1252``, ``iso8859-15``, ``shift_jis``, ...) is decoded into a
temporary UTF-8 copy that DuckDB then reads; the raw file is never modified. A byte the declared
encoding does not define is carried over as it is, so DuckDB quarantines that row as
``INVALID ENCODING`` with its line, as it does for a bad byte in a UTF-8 file.
"""

from __future__ import annotations

import codecs
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_NATIVE = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "utf-16": "utf-16", "iso8859-1": "latin-1"}


def duckdb_encoding(encoding: str) -> str | None:
    """The name DuckDB's reader uses for ``encoding``, or None when the file must be transcoded."""
    return _NATIVE.get(codecs.lookup(encoding).name)


def python_encoding(encoding: str) -> str:
    """The codec that decodes a header line (UTF-8 with an optional BOM for UTF-8)."""
    return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding


@contextmanager
def utf8_readable(path: Path, encoding: str) -> Iterator[Path]:
    """The path DuckDB should read: the file itself, or a temporary UTF-8 copy of it."""
    if duckdb_encoding(encoding) is not None:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="buildcpg-transcode-") as folder:
        copy = Path(folder) / path.name
        with (
            path.open("r", encoding=encoding, errors="surrogateescape", newline="") as source,
            copy.open("w", encoding="utf-8", errors="surrogateescape", newline="") as target,
        ):
            shutil.copyfileobj(source, target, 1 << 20)
        yield copy
