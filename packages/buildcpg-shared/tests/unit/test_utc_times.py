"""Every time a lab database stores is UTC, whatever the machine's time zone.

dbt's source freshness reads a naive ``_loaded_at`` as UTC; ``current_timestamp::timestamp`` would
store the local wall clock (9 hours off in Tokyo). The DuckDB session is set to Asia/Tokyo here, as
on a machine in that zone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from buildcpg_shared.registry import Lab
from buildcpg_shared.serving.publish import publish


def _near_utc_now(value: datetime) -> bool:
    now = datetime.now(UTC).replace(tzinfo=None)
    return value.tzinfo is None and abs(now - value) < timedelta(minutes=2)


def test_loaded_at_ledger_quarantine_and_publish_are_utc(tiny_lab: Path, load_pending, tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "lab.duckdb"))
    con.execute("set TimeZone = 'Asia/Tokyo'")
    local = con.execute("select current_timestamp::timestamp").fetchone()[0]
    assert not _near_utc_now(local)  # the session really is 9 hours off UTC
    loaded = load_pending(Lab.from_dir(tiny_lab), con)
    assert loaded and loaded[0].rejected > 0
    for sql in (
        "select max(_loaded_at) from raw.orders",
        "select max(loaded_at) from _buildcpg.ledger",
        "select max(quarantined_at) from quarantine.orders",
    ):
        assert _near_utc_now(con.execute(sql).fetchone()[0]), sql
    con.execute("create schema gold")
    con.execute("create table gold.t as select 1 as x")
    serving = tmp_path / "serving" / "lab.duckdb"
    publish(con, serving, lab="lab9_tiny", run_id="r", version=1)
    with duckdb.connect(str(serving), read_only=True) as served:
        published = served.execute("select published_at from _buildcpg_version").fetchone()[0]
    assert _near_utc_now(published)
