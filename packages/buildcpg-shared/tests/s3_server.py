"""The S3 server of the shared-storage tests (``buildcpg_shared.local_servers.s3_server``), also set in
this process's environment."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from buildcpg_shared.local_servers import s3_server


@contextmanager
def s3_in_environment(monkeypatch: pytest.MonkeyPatch, secret: str) -> Iterator[dict[str, str]]:
    """``s3_server``, its settings also set in this process's environment (in-process runs and readers)."""
    with s3_server(secret=secret) as env:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        yield env
