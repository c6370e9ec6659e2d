"""Where the platform's shared state lives: ``buildcpg.yaml`` ``shared:`` and its env-var overrides.

Without a ``shared:`` block (and without ``BUILDCPG_STORAGE`` / ``BUILDCPG_STATE``) everything stays
embedded: local files, SQLite, file locks. With it, published gold, inputs and lab state go to object
storage (an ``s3://bucket/prefix`` URL; endpoint, region and credentials from the standard AWS env vars,
never from a file) and history, incidents and the one-writer lease to PostgreSQL (a ``postgresql://`` URL).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

STORAGE_ENV = "BUILDCPG_STORAGE"
STATE_ENV = "BUILDCPG_STATE"


def storage_problem(url: str) -> str:
    """Why ``url`` is not an ``s3://bucket[/prefix]`` URL, or ""."""
    parts = urlsplit(url)
    if parts.scheme != "s3":
        return f"{url!r} is not an s3:// URL (s3://bucket/prefix)"
    if not parts.netloc:
        return f"{url!r} names no bucket (s3://bucket/prefix)"
    return ""


def state_problem(url: str) -> str:
    """Why ``url`` is not a ``postgresql://`` URL, or ""."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        return f"{masked(url)!r} is not a postgresql:// URL (postgresql://user@host:5432/db)"
    if not parts.hostname and "host=" not in parts.query:
        return f"{masked(url)!r} names no host (postgresql://user@host:5432/db)"
    return ""


def masked(url: str) -> str:
    """``url`` with its password replaced by ``***`` (what any message may show of it)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class SharedConfig(BaseModel):
    """``buildcpg.yaml`` ``shared:``: object storage and the state database (each optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    storage: str | None = Field(default=None, description="s3://bucket/prefix for published gold, inputs, lab state")
    state: str | None = Field(default=None, description="postgresql:// URL for history, incidents and the lease")
    keep_versions: int = Field(default=10, ge=1, description="published versions kept per lab on storage")

    @field_validator("storage")
    @classmethod
    def _storage(cls, value: str | None) -> str | None:
        if value is not None and storage_problem(value):
            raise ValueError(storage_problem(value))
        return value

    @field_validator("state")
    @classmethod
    def _state(cls, value: str | None) -> str | None:
        if value is not None and state_problem(value):
            raise ValueError(state_problem(value))
        return value


@dataclass(frozen=True)
class SharedSettings:
    """The shared services in force: ``buildcpg.yaml`` ``shared:`` with the env vars winning."""

    storage: str | None = None
    state: str | None = None
    keep_versions: int = 10

    @property
    def embedded(self) -> bool:
        """Nothing shared: local files, SQLite and file locks (the default)."""
        return self.storage is None and self.state is None

    def describe(self) -> str:
        """One line for ``doctor``: which mode is active (passwords masked)."""
        if self.embedded:
            return "embedded: local files, SQLite history, file locks"
        return (
            f"shared: storage {self.storage or 'local files'}, "
            f"state {masked(self.state) if self.state else 'SQLite + file locks'}"
        )


def shared_settings(config: SharedConfig, env: Mapping[str, str] | None = None) -> SharedSettings:
    """The settings in force: ``BUILDCPG_STORAGE`` / ``BUILDCPG_STATE`` override the file (an empty
    value turns that service off); a bad env value raises ``ValueError`` naming the variable."""
    env = os.environ if env is None else env
    storage, state = config.storage, config.state
    if STORAGE_ENV in env:
        storage = env[STORAGE_ENV].strip() or None
        if storage and storage_problem(storage):
            raise ValueError(f"{STORAGE_ENV}: {storage_problem(storage)}")
    if STATE_ENV in env:
        state = env[STATE_ENV].strip() or None
        if state and state_problem(state):
            raise ValueError(f"{STATE_ENV}: {state_problem(state)}")
    return SharedSettings(storage=storage, state=state, keep_versions=config.keep_versions)
