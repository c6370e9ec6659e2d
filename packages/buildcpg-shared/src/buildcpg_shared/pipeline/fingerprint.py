"""When may a run skip dbt? When neither the data nor the project changed since the last good build."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from buildcpg_shared.ingest.inputs import inputs_version
from buildcpg_shared.ingest.ledger import LEDGER
from buildcpg_shared.registry.paths import LabPaths
from buildcpg_shared.schema import META_SCHEMA

STATE = f"{META_SCHEMA}.state"
_SKIP_DIRS = {"target", "logs", "dbt_packages", "__pycache__"}
# written by `dbt deps` during a run (it records the shared package's absolute path): not project source
_SKIP_FILES = {"package-lock.yml"}


def project_fingerprint(paths: LabPaths) -> str:
    """Hash of every dbt project file (models, tests, macros, yml), lab.yaml and the dbt env."""
    digest = hashlib.sha256()
    files = [paths.lab_yaml]
    for path in sorted(paths.dbt_dir.rglob("*")):
        rel_parts = path.relative_to(paths.dbt_dir).parts
        skipped = set(rel_parts[:-1]) & _SKIP_DIRS or rel_parts[-1] in _SKIP_FILES or rel_parts[-1].startswith(".")
        if path.is_file() and not skipped:
            files.append(path)
    for path in files:
        digest.update(str(path.relative_to(paths.root)).encode())
        digest.update(path.read_bytes())
    for key, value in sorted(paths.dbt_env().items()):
        digest.update(f"{key}={_inside_lab(value, paths.root)}".encode())
    return digest.hexdigest()


def _inside_lab(value: str, root: Path) -> str:
    """A path inside the lab folder relative to it: the same lab in another checkout (a worker with another
    path, state restored from storage) has the same fingerprint; a path outside stays as it is."""
    path = Path(value)
    if path.is_absolute() and path.is_relative_to(root):
        return path.relative_to(root).as_posix()
    return value


def data_version(con: duckdb.DuckDBPyConnection) -> str:
    """A value that changes whenever a file load commits (the ledger is updated in that transaction)."""
    row = con.execute(f"select count(*), max(loaded_at), sum(rows) from {LEDGER}").fetchone()
    return "|".join([*(str(v) for v in (row or ())), inputs_version(con)])


def _ensure_state(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create table if not exists {STATE} (key varchar primary key, value varchar)")


def get_state(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    _ensure_state(con)
    row = con.execute(f"select value from {STATE} where key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


def set_state(con: duckdb.DuckDBPyConnection, key: str, value: str | None) -> None:
    _ensure_state(con)
    if value is None:
        con.execute(f"delete from {STATE} where key = ?", [key])
    else:
        con.execute(f"insert or replace into {STATE} values (?, ?)", [key, value])


def build_key(paths: LabPaths, con: duckdb.DuckDBPyConnection) -> str:
    """What a good build is recorded against: project fingerprint + data version."""
    return f"{project_fingerprint(paths)}:{data_version(con)}"


def is_up_to_date(paths: LabPaths, con: duckdb.DuckDBPyConnection, database: Path) -> bool:
    """True when the last good build saw exactly this project and this data."""
    return database.exists() and get_state(con, "last_good_build") == build_key(paths, con)
