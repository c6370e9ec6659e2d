"""Inputs: other labs' published gold tables that a lab reads (``inputs:`` in lab.yaml).

A lab reads an upstream lab's **serving copy** only (``labs/<upstream>/data/serving/<upstream>.duckdb``),
attached read-only for a moment: it never opens, locks or writes the upstream's working database,
and the upstream's publish (an atomic rename) never waits for it.

- **Check** (``check_inputs``): every input's upstream has published, the table is there and has the
  columns lab.yaml lists. A problem is one line naming the input, the lab and what to do.
- **Load** (``copy_inputs``): each input whose published version is new is copied into this lab's
  ``inputs`` schema (``inputs.<name>``) in one transaction with its version, recorded in
  ``_buildcpg.input_versions``. dbt reads it as ``source('inputs', '<name>')``: a snapshot, so an
  upstream that publishes during this run changes nothing until the next run.

With shared storage (``shared.storage``), an input resolves through the upstream's pointer instead
(store/published.py): Check reads ``serving/<upstream>/CURRENT.json`` and downloads the version it
names once to ``data/.inputs/<upstream>/v<N>.duckdb`` (checksum checked, renamed into place), and
Check and Load both read that file, so a run reads one version, old or new, never a mix.

The recorded versions are part of the lab's data version (pipeline/fingerprint.py): a rerun on the
same upstream versions skips dbt; a new upstream version rebuilds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from buildcpg_shared.config.lab_config import InputConfig, LabConfig
from buildcpg_shared.errors import StorageError, first_line
from buildcpg_shared.registry.paths import LabPaths
from buildcpg_shared.schema import (
    GOLD_SCHEMA,
    META_SCHEMA,
    SERVING_VERSION_TABLE,
    UTC_NOW_SQL,
    quote_ident,
    table_exists,
)
from buildcpg_shared.store import SharedGold

INPUTS_SCHEMA = "inputs"  # other labs' published tables, copied at Load
INPUT_VERSIONS = f"{META_SCHEMA}.input_versions"
# the version row of an upstream's serving copy: today's place, then where copies published before the
# serving copy held gold only keep it (an upstream whose build did not change is not published again)
_VERSION_PLACES = (("main", SERVING_VERSION_TABLE), (META_SCHEMA, "serving_version"))


@dataclass(frozen=True)
class PublishedInput:
    """One input as its upstream has published it."""

    name: str
    lab: str
    table: str
    version: int
    run_id: str
    published_at: str

    @property
    def label(self) -> str:
        """e.g. ``lab1_sales_performance v12``."""
        return f"{self.lab} v{self.version}"


@dataclass(frozen=True)
class InputsCheck:
    """What Check found: the published version of every input, and one line per problem."""

    published: dict[str, PublishedInput]
    problems: list[str]
    files: dict[str, Path] = field(default_factory=dict)  # the serving copy each input was read from


def upstream_paths(paths: LabPaths, upstream: str) -> LabPaths:
    """The paths of an upstream lab: a sibling folder of this lab under labs/."""
    return LabPaths(name=upstream, root=paths.root.parent / upstream)


def _alias(name: str) -> str:
    return f"buildcpg_input_{name}"


def _attach(con: duckdb.DuckDBPyConnection, name: str, serving: Path) -> str:
    alias = _alias(name)
    path = str(serving).replace("'", "''")
    con.execute(f"attach '{path}' as {alias} (read_only)")
    return alias


def _published(
    con: duckdb.DuckDBPyConnection, alias: str, name: str, spec: InputConfig
) -> tuple[PublishedInput | None, str]:
    """The published version of one input from an attached serving copy, or a problem line."""
    where = f"input {name}: {spec.lab}"
    tables = {
        (str(s), str(t))
        for s, t in con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = ?", [alias]
        ).fetchall()
    }
    place = next((p for p in _VERSION_PLACES if p in tables), None)
    if place is None:
        return None, f"{where}: its serving copy has no version table (an older publish): run {spec.lab} again"
    if (GOLD_SCHEMA, spec.table_name) not in tables:
        published = ", ".join(sorted(f"{s}.{t}" for s, t in tables if s == GOLD_SCHEMA)) or "none"
        return None, f"{where} publishes no {spec.table} (it publishes: {published})"
    columns = {
        str(r[0])
        for r in con.execute(
            "select column_name from duckdb_columns() where database_name = ? and schema_name = ? and table_name = ?",
            [alias, GOLD_SCHEMA, spec.table_name],
        ).fetchall()
    }
    missing = [c for c in spec.columns if c not in columns]
    if missing:
        return None, (
            f"{where}: {spec.table} has no column(s) {', '.join(missing)} that lab.yaml inputs.{name}.columns "
            f"needs (it has: {', '.join(sorted(columns))})"
        )
    row = con.execute(f"select version, run_id, published_at::varchar from {alias}.{place[0]}.{place[1]}").fetchone()
    if row is None:
        return None, f"{where}: its serving copy has an empty version table: run {spec.lab} again"
    return PublishedInput(name, spec.lab, spec.table, int(row[0]), str(row[1] or ""), str(row[2] or "")), ""


def inputs_cache(paths: LabPaths, upstream: str) -> Path:
    """Where a lab keeps the upstream versions it downloaded from storage: ``data/.inputs/<upstream>``."""
    return paths.data_dir / ".inputs" / upstream


def _read_one(
    con: duckdb.DuckDBPyConnection, paths: LabPaths, name: str, spec: InputConfig, serving: Path
) -> tuple[PublishedInput | None, str]:
    upstream = upstream_paths(paths, spec.lab)
    if not upstream.lab_yaml.is_file():
        return None, f"input {name}: no lab {spec.lab} in this workspace (labs/{spec.lab}/lab.yaml is missing)"
    if not serving.is_file():
        return None, (
            f"input {name}: {spec.lab} has not published yet ({serving} is missing): "
            f"run it first (buildcpg run {spec.lab})"
        )
    try:
        alias = _attach(con, name, serving)
    except duckdb.Error as err:
        return None, f"input {name}: cannot read the serving copy of {spec.lab} ({serving}): {first_line(err)}"
    try:
        return _published(con, alias, name, spec)
    finally:
        con.execute(f"detach {alias}")


def check_inputs(
    con: duckdb.DuckDBPyConnection, paths: LabPaths, config: LabConfig, gold: SharedGold | None = None
) -> InputsCheck:
    """Every input's published version; one line per input that is missing or incompatible.

    With ``gold`` (shared storage) each upstream's current version is fetched through its pointer first."""
    published: dict[str, PublishedInput] = {}
    problems: list[str] = []
    files: dict[str, Path] = {}
    for name, spec in config.inputs.items():
        serving = upstream_paths(paths, spec.lab).serving_file
        if gold is not None:
            try:
                _, serving = gold.cached(spec.lab, inputs_cache(paths, spec.lab))
            except StorageError as err:
                problems.append(f"input {name}: {err}")
                continue
        found, problem = _read_one(con, paths, name, spec, serving)
        if found is not None:
            published[name] = found
            files[name] = serving
        else:
            problems.append(problem)
    return InputsCheck(published, problems, files)


def ensure_input_versions(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``_buildcpg.input_versions`` if missing."""
    con.execute(f"create schema if not exists {META_SCHEMA}")
    con.execute(
        f"""create table if not exists {INPUT_VERSIONS} (
            name varchar primary key,
            lab varchar not null,
            "table" varchar not null,
            version bigint not null,
            upstream_run_id varchar,
            published_at varchar,
            rows bigint not null,
            copied_at timestamp not null,
            run_id varchar
        )"""
    )


def recorded_versions(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, int]]:
    """The (lab, version) of every input this lab last copied."""
    ensure_input_versions(con)
    return {
        str(n): (str(lab), int(v))
        for n, lab, v in con.execute(f"select name, lab, version from {INPUT_VERSIONS}").fetchall()
    }


def _copy_one(con: duckdb.DuckDBPyConnection, serving: Path, name: str, spec: InputConfig, run_id: str) -> str:
    """Copy one input (its table and version read in one attach, so they match); '' or a problem line."""
    try:
        alias = _attach(con, name, serving)
    except duckdb.Error as err:
        return f"input {name}: cannot read the serving copy of {spec.lab} ({serving}): {first_line(err)}"
    try:
        found, problem = _published(con, alias, name, spec)
        if found is None:
            return problem
        con.execute("begin")
        try:
            con.execute(f"create schema if not exists {INPUTS_SCHEMA}")
            con.execute(
                f"create or replace table {INPUTS_SCHEMA}.{quote_ident(name)} as "
                f"select * from {alias}.{GOLD_SCHEMA}.{quote_ident(spec.table_name)}"
            )
            counted = con.execute(f"select count(*) from {INPUTS_SCHEMA}.{quote_ident(name)}").fetchone()
            con.execute(
                f"insert or replace into {INPUT_VERSIONS} values (?, ?, ?, ?, ?, ?, ?, {UTC_NOW_SQL}, ?)",
                [
                    name,
                    spec.lab,
                    spec.table,
                    found.version,
                    found.run_id,
                    found.published_at,
                    int(counted[0]) if counted else 0,
                    run_id,
                ],
            )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        return ""
    finally:
        con.execute(f"detach {alias}")


@dataclass(frozen=True)
class InputsCopy:
    """What Load did with the inputs: the version each one is at now, which were copied, problems."""

    versions: dict[str, str]
    copied: list[str]
    problems: list[str]


def copy_inputs(
    con: duckdb.DuckDBPyConnection, paths: LabPaths, config: LabConfig, check: InputsCheck, run_id: str
) -> InputsCopy:
    """Copy each input whose published version differs from the one recorded (or whose copy is missing)."""
    ensure_input_versions(con)
    recorded = recorded_versions(con)
    present = {
        str(r[0])
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [INPUTS_SCHEMA]
        ).fetchall()
    }
    copied: list[str] = []
    problems: list[str] = []
    for name, spec in config.inputs.items():
        published = check.published.get(name)
        if published is None:
            continue  # Check said why
        if recorded.get(name) == (spec.lab, published.version) and name in present:
            continue
        serving = check.files.get(name) or upstream_paths(paths, spec.lab).serving_file
        problem = _copy_one(con, serving, name, spec, run_id)
        if problem:
            problems.append(problem)
        else:
            copied.append(name)
    now = recorded_versions(con)
    versions = {name: f"{lab} v{version}" for name, (lab, version) in now.items() if name in config.inputs}
    return InputsCopy(versions, copied, problems)


def inputs_version(con: duckdb.DuckDBPyConnection) -> str:
    """The versions of every input copied, as one string (part of the lab's data version)."""
    if not table_exists(con, META_SCHEMA, "input_versions"):
        return ""
    rows = con.execute(f"select name, lab, version from {INPUT_VERSIONS} order by name").fetchall()
    return ",".join(f"{n}={lab}@{v}" for n, lab, v in rows)
