"""``make env`` / ``buildcpg-lab env``: after ``eval "$(make -s env)"`` in a lab folder, or the lab's
``.envrc`` as direnv loads it, ``uv run …`` and ``dbt …`` use that lab's own venv and dbt project; the
workspace root venv never gains dbt."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from buildcpg_shared.testing import cli_env, run_cli
from conftest import LAB1

PROBE = (
    ' && "$UV" run --locked python -c "import sys; print(sys.prefix)"'
    ' && "$UV" run --locked dbt --version && "$UV" run --locked dbt debug'
)
# direnv is not installed here: the lab's .envrc is sourced as direnv sources it, with its stdlib's
# watch_file (which only tells direnv which files to watch) as a no-op.
SETUPS = {"make env": 'eval "$(make -s env)"', "direnv .envrc": "watch_file() { :; } && . ./.envrc"}


def _in_lab_shell(lab: Path, script: str) -> subprocess.CompletedProcess[str]:
    """``sh -c script`` in the lab folder, with the test's CLI environment."""
    return subprocess.run(
        ["sh", "-c", script], cwd=lab, env=cli_env(), capture_output=True, text=True, timeout=600, check=False
    )


@pytest.mark.parametrize("setup", SETUPS, ids=list(SETUPS))
def test_uv_run_in_a_lab_folder_uses_the_lab_venv(lab1_workspace: Path, setup: str) -> None:
    lab = lab1_workspace / "labs" / LAB1
    result = _in_lab_shell(lab, SETUPS[setup] + PROBE)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert Path(lines[0]).resolve() == (lab / ".venv").resolve(), lines[0]
    assert "Core:" in result.stdout  # dbt --version, from the lab venv
    assert "All checks passed!" in result.stdout  # dbt debug found the lab's project, profile and database
    # the root venv (if any) of this workspace did not gain dbt
    assert not list(lab1_workspace.glob(".venv/lib/python*/site-packages/dbt")), "dbt landed in the root venv"


def test_plain_dbt_after_a_lab_run_keeps_the_runs_partial_parse(lab1_workspace: Path) -> None:
    """lab.yaml's vars live in dbt_project.yml, not in the runner's ``--vars``: a plain ``dbt`` after
    ``buildcpg run`` (and the run after it) parses only what changed, instead of the whole project."""
    lab = lab1_workspace / "labs" / LAB1
    ran = run_cli(lab1_workspace, "run", LAB1)
    log_file = lab / "dbt" / "logs" / "dbt.log"
    seen = log_file.stat().st_size  # only what the commands below log counts
    assert ran.returncode == 0, ran.stdout + ran.stderr
    parsed = _in_lab_shell(lab, 'eval "$(make -s env)" && dbt parse')
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    assert "Unable to do partial parsing" not in parsed.stdout, parsed.stdout
    rerun = run_cli(lab1_workspace, "run", LAB1, "--full-refresh")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    with log_file.open("rb") as handle:
        handle.seek(seen)
        log = handle.read().decode("utf-8", errors="replace")
    assert "Registered adapter" in log  # the parse and the full-refresh run did log here
    assert "because config vars, config profile, or config target have changed" not in log
