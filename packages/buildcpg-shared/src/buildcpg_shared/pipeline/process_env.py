"""Env vars set for the length of one call only (dbt reads them from the process environment).

dbt offers no per-call environment: each ``dbtRunner.invoke`` copies ``os.environ`` into its
invocation context (``env_var()`` in profiles.yml and packages.yml reads that copy) and its click
options read ``DBT_*`` from it too. So the values are set just around each invocation and the
previous ones put back afterwards, under a lock: the process environment of the caller (a test
suite, a notebook) is left as it was.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

_LOCK = threading.RLock()  # one dbt invocation at a time in a process (dbt's global state allows no more)


@contextmanager
def exported(env: Mapping[str, str]) -> Iterator[None]:
    """Set ``env`` in ``os.environ`` for the block, then restore every key to what it was (or unset it)."""
    with _LOCK:
        before = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        try:
            yield
        finally:
            for key, value in before.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
