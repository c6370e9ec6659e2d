"""The test helpers copy a lab's shipped sample data only: a user's own raw drops never change a test."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from buildcpg_shared.local_servers import postgres
from buildcpg_shared.testing import cli_env, copy_lab, postgres_bin_or_skip


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_copy_lab_leaves_out_raw_files_git_does_not_track(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    raw = repo / "labs" / "lab9_demo" / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "sales_2026_01.csv").write_text("a\n1\n")
    (repo / "labs" / "lab9_demo" / "lab.yaml").write_text("name: lab9_demo\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    (raw / "sales_2099_12.csv").write_text("a\n2\n")  # a user's own drop, not part of the sample
    (repo / "labs" / "lab9_demo" / "notes.txt").write_text("untracked files outside data/raw are kept\n")

    copied = copy_lab(repo / "labs" / "lab9_demo", tmp_path / "copy")

    assert sorted(p.name for p in (copied / "data" / "raw").iterdir()) == ["sales_2026_01.csv"]
    assert (copied / "lab.yaml").exists() and (copied / "notes.txt").exists()


def test_copy_lab_outside_git_copies_every_raw_file(tmp_path: Path) -> None:
    raw = tmp_path / "lab9_demo" / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "a.csv").write_text("a\n1\n")
    (raw / "b.csv").write_text("a\n2\n")

    copied = copy_lab(tmp_path / "lab9_demo", tmp_path / "copy")

    assert sorted(p.name for p in (copied / "data" / "raw").iterdir()) == ["a.csv", "b.csv"]


def test_cli_env_keeps_uv_off_the_test_runners_own_venv(monkeypatch: pytest.MonkeyPatch) -> None:
    """tox-uv points UV_PROJECT_ENVIRONMENT at the tox env: a `make run` in a workspace copy must not
    sync into (and re-point the editable buildcpg-shared of) the env the tests run in."""
    monkeypatch.setenv("UV_PROJECT_ENVIRONMENT", "/somewhere/.tox/shared")
    monkeypatch.setenv("VIRTUAL_ENV", "/somewhere/.tox/shared")
    monkeypatch.setenv("BUILDCPG_ROOT", "/elsewhere")

    env = cli_env(EXTRA="1")

    assert "UV_PROJECT_ENVIRONMENT" not in env and "VIRTUAL_ENV" not in env and "BUILDCPG_ROOT" not in env
    assert env["EXTRA"] == "1" and env["UV"]


def _root_without_runuser(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Root on a PATH that has PostgreSQL's programs (stand-ins) but no ``runuser``. Root is simulated:
    the tests may run as any user, and no test may change who runs them."""
    bindir = tmp_path / "pgbin"
    bindir.mkdir()
    for name in ("initdb", "pg_ctl"):
        (bindir / name).write_text("#!/bin/sh\nexit 1\n")
        (bindir / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.setattr(postgres, "_is_root", lambda: True)
    monkeypatch.setattr(postgres.pwd, "getpwnam", lambda name: object())  # a 'postgres' user exists


def test_postgres_as_root_without_runuser_did_not_run_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _root_without_runuser(monkeypatch, tmp_path)
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception) as skipped:
        postgres_bin_or_skip()

    assert "no 'runuser' on PATH" in str(skipped.value) and "did not run" in str(skipped.value)
    assert "\n" not in str(skipped.value)


def test_postgres_as_root_without_runuser_fails_under_ci_and_the_server_says_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _root_without_runuser(monkeypatch, tmp_path)
    monkeypatch.setenv("CI", "true")

    with pytest.raises(AssertionError, match="no 'runuser' on PATH"):
        postgres_bin_or_skip()
    with pytest.raises(RuntimeError, match="no 'runuser' on PATH"), postgres.postgres_server(tmp_path / "pgbin"):
        pass  # never reached: it refuses before creating anything


def test_postgres_not_root_has_nothing_to_say(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "_is_root", lambda: False)
    monkeypatch.setenv("PATH", "")
    assert postgres.cannot_start_here() is None
