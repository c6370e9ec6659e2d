"""process_env.exported: env vars for the length of one call (how dbt gets a lab's env vars)."""

from __future__ import annotations

import os

import pytest
from buildcpg_shared.pipeline.process_env import exported


def test_exported_sets_for_the_block_and_restores_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUILDCPG_TEST_KEPT", "before")
    monkeypatch.delenv("BUILDCPG_TEST_NEW", raising=False)
    with exported({"BUILDCPG_TEST_KEPT": "during", "BUILDCPG_TEST_NEW": "during"}):
        assert os.environ["BUILDCPG_TEST_KEPT"] == os.environ["BUILDCPG_TEST_NEW"] == "during"
    assert os.environ["BUILDCPG_TEST_KEPT"] == "before"
    assert "BUILDCPG_TEST_NEW" not in os.environ


def test_exported_restores_when_the_call_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BUILDCPG_TEST_NEW", raising=False)
    with pytest.raises(KeyboardInterrupt), exported({"BUILDCPG_TEST_NEW": "during"}):
        raise KeyboardInterrupt  # Ctrl-C inside dbt
    assert "BUILDCPG_TEST_NEW" not in os.environ
