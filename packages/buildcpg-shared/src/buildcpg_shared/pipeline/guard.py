"""The wrong-database guard: a lab writes only its own database, inside its own folder."""

from __future__ import annotations

from pathlib import Path

import duckdb

from buildcpg_shared.errors import WrongDatabaseError
from buildcpg_shared.registry.paths import LabPaths
from buildcpg_shared.schema import META_SCHEMA, UTC_NOW_SQL, table_exists


def check_database_location(paths: LabPaths, database: Path) -> None:
    """Refuse a database path outside the lab folder (checked before the file is opened)."""
    resolved = database.resolve()
    if not resolved.is_relative_to(paths.root):
        raise WrongDatabaseError(
            f"{paths.name}: database {resolved} lies outside the lab folder {paths.root} "
            f"(from {paths.db_env_var}); refusing to write. Unset it or point it inside the lab."
        )


def check_identity(con: duckdb.DuckDBPyConnection, lab_name: str, database: Path) -> None:
    """Stop if the database records another lab; record this lab on a new database."""
    if table_exists(con, META_SCHEMA, "lab_identity"):
        row = con.execute(f"select lab_name from {META_SCHEMA}.lab_identity limit 1").fetchone()
        if row and row[0] != lab_name:
            raise WrongDatabaseError(f"{database} belongs to lab {row[0]!r}, not {lab_name!r}; refusing to write")
        if row:
            return
    con.execute(f"create schema if not exists {META_SCHEMA}")
    con.execute(f"create table if not exists {META_SCHEMA}.lab_identity (lab_name varchar, created_at timestamp)")
    con.execute(f"insert into {META_SCHEMA}.lab_identity values (?, {UTC_NOW_SQL})", [lab_name])
