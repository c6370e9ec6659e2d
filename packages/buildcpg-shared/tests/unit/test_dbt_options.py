"""The options the runner gives dbt: threads from the cores, dbt.log at INFO and the console at WARN
unless the user chose."""

from __future__ import annotations

import os

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
