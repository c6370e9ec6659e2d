"""store/checksum.py: the sha256 computed on a thread beside a transfer is the file's sha256."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from buildcpg_shared.store.checksum import FileSha256, StreamSha256


def test_file_and_stream_checksums_match_hashlib(tmp_path: Path) -> None:
    data = os.urandom(20 * 1024 * 1024 + 17)  # more than two chunks, not a whole number of them
    path = tmp_path / "v1.duckdb"
    path.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    with FileSha256(path) as checksum:
        assert checksum.hexdigest() == expected
    with StreamSha256() as stream:
        for start in range(0, len(data), 3 * 1024 * 1024):
            stream.update(data[start : start + 3 * 1024 * 1024])
    assert stream.hexdigest() == expected


def test_a_file_that_cannot_be_read_raises_from_hexdigest(tmp_path: Path) -> None:
    with FileSha256(tmp_path / "gone.duckdb") as checksum, pytest.raises(FileNotFoundError):
        checksum.hexdigest()
