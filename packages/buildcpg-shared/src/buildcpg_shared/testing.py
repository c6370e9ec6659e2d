"""Helpers for labs' own test suites: run a lab on a temporary copy, never on the real folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from buildcpg_shared.registry import Lab

if TYPE_CHECKING:
    from buildcpg_shared.pipeline.runner import RunReport

# build outputs and state, never copied: venvs, dbt artifacts, databases, run state, caches
_BUILD_OUTPUTS = (
    ".venv",
    "target",
    "logs",
    "dbt_packages",
    "package-lock.yml",
    "*.duckdb",
    "*.duckdb.wal",
    "last_run.json",
    ".buildcpg",
    ".buildcpg.*",
    ".buildcpg_run_results",  # dbt run_results kept per run (the report's run-time trends)
    ".state_version",  # the lab state snapshot a database came from (shared storage)
    ".inputs",  # upstream versions cached from shared storage
    "__pycache__",
)
_IGNORE = shutil.ignore_patterns(*_BUILD_OUTPUTS, "serving", ".publish", "damaged")


def _tracked_files(folder: Path) -> set[Path] | None:
    """The files git tracks below ``folder`` (resolved), or None when it is not in a git checkout."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--", "."], cwd=folder, capture_output=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {(folder / name).resolve() for name in listed.decode("utf-8", "surrogateescape").split("\0") if name}


_Ignore = Callable[[str, list[str]], Iterable[str]]


def _sample_data_only(base: _Ignore, root: Path) -> _Ignore:
    """A copytree ``ignore`` that also leaves out raw files git does not track (a user's own drops),
    so a test sees the shipped sample data only. Outside a git checkout every file is kept."""
    tracked = _tracked_files(root)

    def ignore(directory: str, names: list[str]) -> set[str]:
        ignored = set(base(directory, names))
        here = Path(directory)
        parts = here.relative_to(root).parts
        in_raw = any(parts[i : i + 2] == ("data", "raw") for i in range(len(parts)))
        if tracked is None or not in_raw:
            return ignored
        return ignored | {n for n in names if (here / n).is_file() and (here / n).resolve() not in tracked}

    return ignore


def copy_lab(lab_dir: Path, dest_parent: Path) -> Path:
    """Copy a lab's contract, dbt project and tracked sample data (no venv, database, artifacts or
    raw files git does not track)."""
    dest = dest_parent / lab_dir.name
    shutil.copytree(lab_dir, dest, ignore=_sample_data_only(_IGNORE, lab_dir))
    return dest


def run_lab_dir(lab_dir: Path, **options: Any) -> tuple[Lab, RunReport]:
    """Run the whole pipeline of a lab folder (a copy) in this process on its own data/<lab>.duckdb."""
    from buildcpg_shared.pipeline.runner import LabRunner

    lab = Lab.from_dir(lab_dir)
    return lab, LabRunner(lab, **options).run()


def assert_same_as_full_refresh(
    lab_dir: Path, read_tables: Callable[[Path], dict[str, list[tuple]]], *, at_least: int
) -> None:
    """Incremental builds must give the same answer: read ``read_tables(database)`` (name -> sorted
    rows) from the lab copy as its runs left it, rebuild the copy with ``--full-refresh``, read them
    again and assert that every table (at least ``at_least`` of them, none empty) is equal, row for row."""
    lab = Lab.from_dir(lab_dir)
    incremental = read_tables(lab.paths.database())
    _, report = run_lab_dir(lab_dir, full_refresh=True)
    assert report.ok, f"--full-refresh failed: {report.error}"
    full = read_tables(lab.paths.database())
    assert sorted(incremental) == sorted(full) and len(full) >= at_least, (sorted(incremental), sorted(full))
    for name, rows in full.items():
        assert rows, f"{name} is empty"
        assert incremental[name] == rows, f"{name} differs from a --full-refresh build"


INPUT_FIXTURES = Path("tests") / "fixtures" / "inputs"


def publish_input_fixtures(lab_dir: Path) -> list[Path]:
    """Publish the tracked snapshots of a lab's inputs as its upstream labs' serving copies, beside it.

    For a lab that reads other labs (lab.yaml ``inputs``), ``tests/fixtures/inputs/<input>.csv`` holds
    a snapshot of each published table; each upstream gets a minimal sibling folder (its lab.yaml and
    the serving copy written by the real ``publish``), so the lab's suite runs without running (or
    installing) its upstream labs. Returns the serving files written.
    """
    import duckdb

    from buildcpg_shared.serving.publish import publish

    if not (lab_dir / INPUT_FIXTURES).is_dir():
        return []
    lab = Lab.from_dir(lab_dir)
    tables: dict[str, list[tuple[str, Path]]] = {}
    for name, spec in lab.config.inputs.items():
        csv = lab_dir / INPUT_FIXTURES / f"{name}.csv"
        if csv.is_file():
            tables.setdefault(spec.lab, []).append((spec.table_name, csv))
    written = []
    for upstream, files in tables.items():
        folder = lab_dir.parent / upstream
        folder.mkdir(exist_ok=True)
        (folder / "lab.yaml").write_text(f"name: {upstream}\n", encoding="utf-8")
        con = duckdb.connect()
        con.execute("create schema gold")
        for table, csv in files:
            path = str(csv).replace("'", "''")
            con.execute(f"create table gold.\"{table}\" as select * from read_csv('{path}')")
        serving = Lab.from_dir(folder).paths.serving_file
        publish(con, serving, lab=upstream, run_id="fixture", version=1)
        con.close()
        written.append(serving)
    return written


def run_lab_copy(lab_dir: Path, dest_parent: Path, **options: Any) -> tuple[Lab, RunReport]:
    """Copy a lab and run its whole pipeline in this process; returns (lab, report).

    A lab with input snapshots (``tests/fixtures/inputs``) gets them published as its upstreams first.
    """
    copy = copy_lab(lab_dir, dest_parent)
    publish_input_fixtures(copy)
    return run_lab_dir(copy, **options)


_WORKSPACE_IGNORE = shutil.ignore_patterns(*_BUILD_OUTPUTS, ".tox", "site")


def copy_workspace(source: Path, dest: Path) -> Path:
    """Copy a workspace (pyproject, lock, tox files, packages/, labs/, tools/) without venvs, databases,
    state or raw files git does not track."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "uv.lock", "tox.ini", "toxfile.py"):
        if (source / name).exists():
            shutil.copy2(source / name, dest / name)
    for folder in ("packages", "labs", "tools"):
        shutil.copytree(source / folder, dest / folder, ignore=_sample_data_only(_WORKSPACE_IGNORE, source / folder))
    return dest


def keep_only_labs(root: Path, keep: list[str]) -> None:
    """Hide every other lab of a workspace copy from the registry (its lab.yaml goes; the folder
    stays, since the uv workspace and uv.lock still list it as a member)."""
    for lab_yaml in (root / "labs").glob("*/lab.yaml"):
        if lab_yaml.parent.name not in keep:
            lab_yaml.unlink()


def clone_lab(lab_dir: Path, new_name: str, *, share_venv: bool = True) -> Path:
    """A sibling copy of a lab under another name (contract, profile and project renamed).

    With ``share_venv`` its ``.venv`` is a symlink to the original's, so tests need no second sync;
    run it with ``--no-sync`` (both labs keep the same uv package name).
    """
    dest = lab_dir.parent / new_name
    shutil.copytree(lab_dir, dest, ignore=_IGNORE)
    old = lab_dir.name
    for path in [dest / "lab.yaml", *dest.glob("dbt/*.yml")]:
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(old, new_name).replace(old.upper(), new_name.upper()), encoding="utf-8")
    if share_venv and (lab_dir / ".venv").exists():
        (dest / ".venv").symlink_to((lab_dir / ".venv").resolve(), target_is_directory=True)
    return dest


def did_not_run(message: str) -> NoReturn:
    """A test that needs a system program this machine lacks: "did not run" (skip) with ``message``,
    but a failure under ``CI=true`` (``.ci/run`` installs what the tests need, so there it is required)."""
    if os.environ.get("CI", "").lower() == "true":
        raise AssertionError(message)
    if pytest is None:  # pragma: no cover - pytest is a dev dependency
        raise RuntimeError(message)
    pytest.skip(message)


def chromium_or_skip() -> str:
    """The headless Chromium to drive, or a clear "did not run" outside CI (with ``CI=true`` it is required).

    Chromium is a system program a fresh Mac or Linux box lacks; ``.ci/run`` installs it.
    """
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found:
        return found
    did_not_run(
        "no Chromium on PATH: the browser test did not run. Install it (Debian: apt-get install chromium; "
        "macOS: brew install --cask chromium) to run it; under CI=true it is required"
    )


def postgres_bin_or_skip() -> Path:
    """The folder of PostgreSQL's server programs (``initdb``, ``pg_ctl``), or "did not run" outside CI.

    Debian keeps them in ``/usr/lib/postgresql/<major>/bin`` (newest first), elsewhere on ``PATH``.
    Found but unable to start here (as root without ``runuser``): "did not run" too, in one line.
    """
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name.zfill(4), reverse=True)
    found = [p for p in candidates if (p / "initdb").exists() and (p / "pg_ctl").exists()]
    initdb = None if found else shutil.which("initdb")
    if initdb and (Path(initdb).parent / "pg_ctl").exists():
        found = [Path(initdb).resolve().parent]
    if not found:
        did_not_run("no PostgreSQL server binaries: the test did not run (apt-get install postgresql)")
    from buildcpg_shared.local_servers.postgres import cannot_start_here  # psycopg: only when asked

    problem = cannot_start_here()
    if problem:
        did_not_run(f"PostgreSQL found in {found[0]}, but {problem}: the test did not run")
    return found[0]


def redis_server_or_skip() -> str:
    """The ``redis-server`` program (the Celery broker of the Airflow end-to-end env), or "did not run"
    outside CI (with ``CI=true`` it is required; ``.ci/run`` installs Debian's ``redis-server``)."""
    found = shutil.which("redis-server")
    if found:
        return found
    did_not_run(
        "no redis-server on PATH: the Airflow Celery test did not run. Install it (Debian: apt-get install "
        "redis-server; macOS: brew install redis) to run it; under CI=true it is required"
    )


def chromium_dump_dom(
    chromium: str, page: Path, profile: Path, width: int | None = None
) -> subprocess.CompletedProcess[str]:
    """Load ``page`` in headless Chromium, offline (a viewport ``width`` px wide when given), and return the
    rendered DOM after its scripts ran (stdout) and its console log (stderr, ``--enable-logging``)."""
    return subprocess.run(
        [
            chromium,
            *([f"--window-size={width},900"] if width else []),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            f"--user-data-dir={profile}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def uv_path() -> str:
    """The uv this Python would use (PATH, then next to the interpreter)."""
    return shutil.which("uv") or str(Path(sys.executable).parent / "uv")


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for running ``buildcpg`` in a test: no BUILDCPG_* overrides, wide output, uv found.

    The test runner's own venv is left out (``VIRTUAL_ENV``, and ``UV_PROJECT_ENVIRONMENT`` that tox-uv
    sets): a ``uv sync`` in a workspace copy must build the copy's venvs, never re-sync the runner's."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BUILDCPG_") and k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")
    }
    env["UV"] = uv_path()
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def run_cli(root: Path, *args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``buildcpg ARGS`` (this Python) in a workspace; output captured."""
    return subprocess.run(
        [sys.executable, "-m", "buildcpg_shared.cli", *args],
        cwd=cwd or root,
        env=cli_env(**env),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


# pytest is a dev dependency: chromium_or_skip skips through it where it is installed. The fixtures of a
# lab's own suite (lab_dir, lab_run, lab_db, raw_dir) are the pytest plugin buildcpg_shared.pytest_plugin.
try:
    import pytest
except ImportError:
    pytest = None  # type: ignore[assignment]
