"""A throwaway PostgreSQL server for the tests and benchmarks: Debian's (or any) initdb + pg_ctl on
127.0.0.1, a free port.

``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` user (``runuser``)
in a folder it owns. Password auth over TCP (scram), so the tests see real credentials refused and
passwords masked; trust over its own Unix socket folder only.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg

from buildcpg_shared.local_servers.ports import free_port

PASSWORD = "s3cret-pg-Pa55"
SERVER_USER = "postgres"


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def cannot_start_here() -> str | None:
    """Why this machine cannot start a throwaway server (one line), or ``None`` when it can.

    Only root has a reason: ``initdb`` refuses root, so the server runs as the ``postgres`` user
    through ``runuser`` (util-linux, in /usr/sbin), and both must exist."""
    if not _is_root():
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        return f"running as root and there is no {SERVER_USER!r} user to run PostgreSQL as (initdb refuses root)"
    if shutil.which("runuser") is None:
        return "running as root and no 'runuser' on PATH (util-linux, /usr/sbin) to run PostgreSQL as 'postgres'"
    return None


@contextlib.contextmanager
def postgres_server(bindir: Path, *, durable: bool = False) -> Iterator[str]:
    """A started server; yields the admin URL (``postgresql://postgres:PASSWORD@127.0.0.1:PORT/postgres``).

    Tests run it with ``fsync=off``; ``durable`` keeps PostgreSQL's default (a benchmark compares it
    with SQLite, which syncs its commits)."""
    problem = cannot_start_here()
    if problem:
        raise RuntimeError(problem)
    base = Path(tempfile.mkdtemp(prefix="buildcpg-pg-"))
    run_as: list[str] = []
    if _is_root():
        user = pwd.getpwnam(SERVER_USER)
        os.chown(base, user.pw_uid, user.pw_gid)
        run_as = [str(shutil.which("runuser")), "-u", SERVER_USER, "--"]
    data, pwfile, log = base / "data", base / "pw", base / "server.log"
    pwfile.write_text(PASSWORD + "\n")
    os.chmod(pwfile, 0o644)
    port = free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*run_as, *args], capture_output=True, text=True, timeout=120, check=False)
        if done.returncode:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}{tail}")

    try:
        run(
            str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8", "--no-locale",
            "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}",
        )  # fmt: skip
        options = f"-p {port} -c listen_addresses=127.0.0.1 -k {base} -c max_connections=200"
        options += "" if durable else " -c fsync=off"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "60", "start")
        try:
            yield f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/postgres"
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def new_database(admin_url: str) -> str:
    """A fresh, empty database on the server; its URL."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as con:
        con.execute(f"create database {name}")
    return admin_url.rsplit("/", 1)[0] + f"/{name}"
