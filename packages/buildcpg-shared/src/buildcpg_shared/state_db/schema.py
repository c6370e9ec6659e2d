"""The one schema of the state database, for SQLite and PostgreSQL alike, and its ordered migrations.

Tables: ``runs`` (one platform run), ``lab_runs`` (one lab in a run), ``step_runs`` (one step of a lab
run), ``lab_starts`` (when a run started each of its labs), ``incidents`` (open and closed alert
incidents per lab and kind; at most one open per lab and kind: a unique partial index), ``lab_leases``
(who holds a lab's lease, PostgreSQL only in practice) and ``schema_version`` (one row: the last
migration applied).

``ensure_schema`` applies what is missing in one transaction that excludes every other migrator
(``BEGIN IMMEDIATE`` on SQLite, a transaction-level advisory lock on PostgreSQL). Every migration is
idempotent, so a file made by the stdlib code before versioning (version 0, maybe without
``lab_runs.inputs``) is brought up to date in place.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    inspect,
    select,
    text,
    update,
)

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("run_id", Text, primary_key=True),
    Column("command", Text, nullable=False),
    Column("started_at", Text, nullable=False),
    Column("finished_at", Text),
    Column("status", Text, nullable=False, server_default="running"),
    Column("labs", Integer, nullable=False, server_default="0"),
    Column("passed", Integer),
    Column("failed", Integer),
    Column("duration_s", Float),
    # who runs it, and which labs (a JSON list): a lab it never recorded is still running or died with it
    Column("host", Text, nullable=False, server_default=""),
    Column("pid", Integer, nullable=False, server_default="0"),
    Column("lab_names", Text, nullable=False, server_default="[]"),
)

lab_runs = Table(
    "lab_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Text, ForeignKey("runs.run_id"), nullable=False),
    Column("lab", Text, nullable=False),
    Column("lab_run_id", Text),
    Column("started_at", Text, nullable=False),
    Column("finished_at", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("error", Text, nullable=False, server_default=""),
    Column("duration_s", Float, nullable=False),
    Column("rows", Integer),
    Column("quality", Float),
    Column("log", Text),
    Column("inputs", Text, nullable=False, server_default="{}"),
    Index("lab_runs_lab", "lab", "started_at"),
    sqlite_autoincrement=True,
)

step_runs = Table(
    "step_runs",
    metadata,
    Column("lab_run", Integer, ForeignKey("lab_runs.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("rows", Integer),
    Column("detail", Text, nullable=False, server_default=""),
    Column("seq", Integer, nullable=False, server_default="0"),  # the step's place in its run
)
step_runs_lab_run = Index("step_runs_lab_run", step_runs.c.lab_run)

incidents = Table(
    "incidents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lab", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("opened_at", Text, nullable=False),
    Column("closed_at", Text),
    Column("message", Text, nullable=False),
    Column("detail", Text, nullable=False, server_default="{}"),
    Index("incidents_open", "lab", "kind", "closed_at"),
    sqlite_autoincrement=True,
)
incidents_one_open = Index(
    "incidents_one_open",
    incidents.c.lab,
    incidents.c.kind,
    unique=True,
    sqlite_where=incidents.c.closed_at.is_(None),
    postgresql_where=incidents.c.closed_at.is_(None),
)

lab_starts = Table(
    "lab_starts",
    metadata,
    Column("run_id", Text, ForeignKey("runs.run_id"), primary_key=True),
    Column("lab", Text, primary_key=True),
    Column("started_at", Text, nullable=False),
)  # a lab its platform run has started (not yet recorded: running; never started: queued)

lab_leases = Table(
    "lab_leases",
    metadata,
    Column("lab", Text, primary_key=True),
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("since", Text, nullable=False),
    Column("command", Text, nullable=False, server_default=""),
    Column("backend_pid", Integer, nullable=False, server_default="0"),  # the holding session (pg_locks.pid)
)

schema_version = Table("schema_version", MetaData(), Column("version", Integer, nullable=False))

MIGRATION_LOCK = 0x62637067_0001  # the advisory lock migrators on PostgreSQL take (any fixed number)


def _columns(con: Connection, table: str) -> set[str]:
    return {c["name"] for c in inspect(con).get_columns(table)}


def _add_column(con: Connection, table: Table, name: str) -> None:
    """``alter table add column`` of the column as ``metadata`` defines it, if missing."""
    if name in _columns(con, table.name):
        return
    column = table.c[name]
    ddl = column.type.compile(dialect=con.dialect)
    default = f" default '{column.server_default.arg}'" if column.server_default is not None else ""  # type: ignore[attr-defined]
    null = " not null" if not column.nullable else ""
    quote = con.dialect.identifier_preparer.quote
    con.exec_driver_sql(f"alter table {quote(table.name)} add column {quote(name)} {ddl}{null}{default}")


def _v1_tables(con: Connection) -> None:
    """The tables as they are now (a fresh database), or the missing ones (a file from before versions)."""
    metadata.create_all(con, checkfirst=True)


def _v2_lab_runs_inputs(con: Connection) -> None:
    """``lab_runs.inputs`` (lab.yaml ``inputs``: the upstream versions a run read)."""
    _add_column(con, lab_runs, "inputs")


def _v3_step_order(con: Connection) -> None:
    """``step_runs.seq`` (PostgreSQL has no rowid to keep the steps in order) and its lookup index."""
    _add_column(con, step_runs, "seq")
    step_runs_lab_run.create(con, checkfirst=True)


def _v4_one_open_incident(con: Connection) -> None:
    """At most one open incident per lab and kind, enforced by the database (two processes racing)."""
    newest_open = (
        select(func.max(incidents.c.id))
        .where(incidents.c.closed_at.is_(None))
        .group_by(incidents.c.lab, incidents.c.kind)
    )
    older = select(incidents.c.id).where(incidents.c.closed_at.is_(None), incidents.c.id.not_in(newest_open))
    con.execute(update(incidents).where(incidents.c.id.in_(older)).values(closed_at=incidents.c.opened_at))
    incidents_one_open.create(con, checkfirst=True)


def _v5_run_process(con: Connection) -> None:
    """``runs.host``, ``runs.pid`` and ``runs.lab_names``: the process of a platform run and its labs, so
    that a lab run that never recorded its end can be told apart: still running, or died with it."""
    for name in ("host", "pid", "lab_names"):
        _add_column(con, runs, name)


def _v6_lab_starts(con: Connection) -> None:
    """``lab_starts``: when a platform run started each of its labs, so a lab still waiting for a slot
    (or for its upstream labs) reads ``queued``, not ``running``."""
    lab_starts.create(con, checkfirst=True)


MIGRATIONS: tuple[Callable[[Connection], None], ...] = (
    _v1_tables,
    _v2_lab_runs_inputs,
    _v3_step_order,
    _v4_one_open_incident,
    _v5_run_process,
    _v6_lab_starts,
)
SCHEMA_VERSION = len(MIGRATIONS)


def _version(con: Connection) -> int:
    if not inspect(con).has_table("schema_version"):
        return 0
    return int(con.execute(select(func.max(schema_version.c.version))).scalar() or 0)


def ensure_schema(engine: Engine) -> int:
    """Bring the database to ``SCHEMA_VERSION`` (a no-op when it is there); returns the version found."""
    with engine.connect() as con:  # the common case: one read, no lock held by anyone
        found = _version(con)
        con.rollback()
    if found >= SCHEMA_VERSION:
        return found
    with engine.begin() as con:
        if con.dialect.name == "postgresql":
            con.execute(text("select pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        found = _version(con)  # again, under the lock: another process may have migrated meanwhile
        if found >= SCHEMA_VERSION:
            return found
        schema_version.create(con, checkfirst=True)
        for migration in MIGRATIONS[found:]:
            migration(con)
        con.execute(schema_version.delete())
        con.execute(schema_version.insert().values(version=SCHEMA_VERSION))
    return found


def probe(engine: Engine) -> str:
    """What the database is and its schema version, read only (``doctor``); raises SQLAlchemy's error."""
    with engine.connect() as con:
        server = str(con.execute(text("show server_version")).scalar()) if con.dialect.name == "postgresql" else ""
        found = _version(con)
        con.rollback()
    name = f"PostgreSQL {server}" if server else con.dialect.name
    schema = f"schema v{found}" if found else "no schema yet (the first run creates it)"
    return f"{name}, {schema} (this version writes v{SCHEMA_VERSION})"
