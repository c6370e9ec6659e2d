"""The bottom of the library: the schema names of a lab database, identifier quoting, table-exists.

Every module that writes or reads a lab database takes these from here (``docs/layout.md``: layer 0),
so the names and the quoting rule exist once.
"""

from __future__ import annotations

import duckdb

META_SCHEMA = "_buildcpg"  # platform metadata: ledger, state, identity, quality, snapshots
RAW_SCHEMA = "raw"  # typed rows of the raw files (written by Load)
QUARANTINE_SCHEMA = "quarantine"  # rows Load rejected, with the reason
GOLD_SCHEMA = "gold"  # dbt marts: what the lab serves
# the one table of a serving copy beside gold (schema main): lab, version, run_id, published_at, tables
SERVING_VERSION_TABLE = "_buildcpg_version"
# "now" as a naive UTC TIMESTAMP: every time a lab database stores (_loaded_at, ledger, quality,
# publish) is UTC, whatever the machine's time zone (dbt's source freshness reads naive times as UTC;
# ``current_timestamp::timestamp`` would give the local wall clock)
UTC_NOW_SQL = "timezone('UTC', current_timestamp)"


def quote_ident(identifier: str) -> str:
    """A SQL identifier in double quotes, inner quotes doubled (``a"b`` → ``"a""b"``)."""
    return '"' + identifier.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    """``"schema"."table"``, both parts quoted."""
    return f"{quote_ident(schema)}.{quote_ident(table)}"


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Does ``schema.table`` (a table or a view) exist in the current database of ``con``?"""
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ? "
        "and table_catalog = current_database()",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])
