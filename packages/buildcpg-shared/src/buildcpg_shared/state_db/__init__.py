"""The state database: SQLite (embedded) or PostgreSQL (``shared: state``), its one schema, the lease.

``engine.py`` opens either (WAL + busy timeout on SQLite; one-line errors, password masked),
``schema.py`` is the one schema definition with its ordered migrations (``schema_version``), and
``lease.py`` is the one-writer lease per lab (a session-level PostgreSQL advisory lock).
"""

from __future__ import annotations

from buildcpg_shared.state_db.engine import postgres_engine, sqlite_engine, state_error
from buildcpg_shared.state_db.lease import StateLease
from buildcpg_shared.state_db.schema import SCHEMA_VERSION, ensure_schema, probe

__all__ = ["SCHEMA_VERSION", "StateLease", "ensure_schema", "postgres_engine", "probe", "sqlite_engine", "state_error"]
