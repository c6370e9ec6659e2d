"""Which version of a lab's gold BI tools read now: the serving copy's version row, read-only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from buildcpg_shared.schema import META_SCHEMA, SERVING_VERSION_TABLE

# where the version row is: today's copies, then copies published before the serving copy held gold only
_VERSION_TABLES = (f"main.{SERVING_VERSION_TABLE}", f"{META_SCHEMA}.serving_version")


@dataclass(frozen=True)
class PublishedVersion:
    """The serving copy's version, the run that published it, when, and its tables' row counts."""

    version: int
    run_id: str
    published_at: str  # ISO, UTC
    tables: dict[str, int]

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def age_hours(self, now: datetime | None = None) -> float:
        published = datetime.fromisoformat(self.published_at)
        if published.tzinfo is None:
            published = published.replace(tzinfo=UTC)
        return ((now or datetime.now(UTC)) - published).total_seconds() / 3600

    def describe(self, now: datetime | None = None) -> str:
        """``v12, 1,290 rows, published 3.2 h ago``."""
        return f"v{self.version}, {self.rows:,} rows, published {self.age_hours(now):.1f} h ago"

    def version_age(self, now: datetime | None = None) -> str:
        """``v12, published 3.2 h ago`` (beside a row count shown apart)."""
        return f"v{self.version}, published {self.age_hours(now):.1f} h ago"


def published_version(serving_file: Path) -> PublishedVersion | None:
    """The version BI reads from ``serving_file``, or None when nothing is published (or it is unreadable)."""
    if not serving_file.is_file():
        return None
    row = None
    for table in _VERSION_TABLES:
        try:
            with duckdb.connect(str(serving_file), read_only=True) as con:
                row = con.execute(
                    f"select version, run_id, strftime(published_at, '%Y-%m-%dT%H:%M:%S+00:00'), tables from {table}"
                    " order by version desc limit 1"
                ).fetchone()
            break
        except duckdb.CatalogException:
            continue
        except duckdb.Error:
            return None
    if row is None:
        return None
    tables = json.loads(row[3]) if isinstance(row[3], str) else dict(row[3] or {})
    return PublishedVersion(int(row[0]), str(row[1] or ""), str(row[2]), {str(k): int(v) for k, v in tables.items()})
