"""The options the runner gives dbt: threads from the cores, dbt.log at INFO and the console at WARN
unless the user chose."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from buildcpg_shared.cli.lab import build_parser
from buildcpg_shared.pipeline.dbt_invoke import DbtSession, dbt_threads


def test_threads_share_the_cores_among_the_labs_at_once() -> None:
    cores = os.cpu_count() or 1
    assert dbt_threads() == dbt_threads(1) == cores  # a lab running alone: every core
    assert dbt_threads(2) == max(1, cores // 2)
    assert dbt_threads(cores * 4) == 1 and dbt_threads(0) == cores  # never 0 threads
    run = build_parser().parse_args(["run"])
    assert run.threads is None  # buildcpg-lab run: auto unless --threads is given
    assert build_parser().parse_args(["run", "--threads", "3"]).threads == 3


@pytest.mark.parametrize(
    ("env", "flags"),
    [
        ({}, ["--log-level-file", "info", "--log-level", "warn"]),
        ({"DBT_LOG_LEVEL_FILE": "debug"}, ["--log-level", "warn"]),
        ({"DBT_LOG_LEVEL": "info"}, ["--log-level-file", "info"]),
        ({"DBT_DEBUG": "true"}, []),
        ({"DBT_DEBUG": "false"}, ["--log-level-file", "info", "--log-level", "warn"]),
    ],
)
def test_dbt_log_is_info_and_console_warn_unless_the_user_chose(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], flags: list[str]
) -> None:
    for key in ("DBT_LOG_LEVEL_FILE", "DBT_LOG_LEVEL", "DBT_DEBUG"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert DbtSession._log_flags() == flags


def _python(code: str) -> str:
    """Run code in a new interpreter (a freeze must not touch this test process) and return its output."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_long_lived_objects_are_frozen_only_in_a_one_shot_process() -> None:
    """gc.freeze() after dbt's import and parse only where the process ends with its run (one_shot_gc)."""
    out = _python(
        "import gc\n"
        "from buildcpg_shared.pipeline.one_shot_gc import declare_one_shot, freeze_long_lived\n"
        "kept = [[i] for i in range(10_000)]\n"
        "freeze_long_lived(); before = gc.get_freeze_count()\n"
        "declare_one_shot(); freeze_long_lived(); print(before, gc.get_freeze_count())"
    )
    before, after = map(int, out.split())
    assert before == 0  # a library user's process (pytest, a scheduler worker) is never frozen
    assert after >= 10_000  # the objects alive at that moment, e.g. dbt's manifest


def test_the_lab_command_line_declares_its_process_one_shot() -> None:
    """After ``buildcpg-lab``'s main has run, the runner's freeze takes effect in that process."""
    out = _python(
        "import gc\n"
        "from buildcpg_shared.cli.lab import main\n"
        "from buildcpg_shared.pipeline.one_shot_gc import freeze_long_lived\n"
        "freeze_long_lived(); before = gc.get_freeze_count()\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "freeze_long_lived(); print(before, gc.get_freeze_count())"
    )
    before, after = map(int, out.splitlines()[-1].split())
    assert before == 0 and after > 0
