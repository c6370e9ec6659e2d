"""``buildcpg.yaml`` ``shared:``: storage and state URLs, env vars winning, passwords never shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from buildcpg_shared.config.alerts import load_workspace_config
from buildcpg_shared.config.shared import SharedConfig, masked, shared_settings
from buildcpg_shared.errors import ConfigError


def test_without_a_block_everything_is_embedded(tmp_path: Path) -> None:
    settings = shared_settings(load_workspace_config(tmp_path).shared, env={})
    assert settings.embedded and settings.describe().startswith("embedded: local files, SQLite")


def test_the_block_and_the_env_vars(tmp_path: Path) -> None:
    (tmp_path / "buildcpg.yaml").write_text(
        "shared:\n  storage: s3://bucket/team\n  state: postgresql://app:s3cret@db.example:5432/buildcpg\n"
    )
    config = load_workspace_config(tmp_path).shared
    from_file = shared_settings(config, env={})
    assert (from_file.storage, from_file.state) == (
        "s3://bucket/team",
        "postgresql://app:s3cret@db.example:5432/buildcpg",
    )
    assert "s3cret" not in from_file.describe() and "app:***@db.example:5432" in from_file.describe()
    env = {"BUILDCPG_STORAGE": "s3://other/x", "BUILDCPG_STATE": ""}  # a worker configured by its environment
    from_env = shared_settings(config, env=env)
    assert (from_env.storage, from_env.state) == ("s3://other/x", None)


def test_a_wrong_url_is_one_line_without_the_password(tmp_path: Path) -> None:
    (tmp_path / "buildcpg.yaml").write_text("shared:\n  state: mysql://u:pw@h/db\n")
    with pytest.raises(ConfigError) as raised:
        load_workspace_config(tmp_path)
    line = str(raised.value)
    assert "\n" not in line and "shared.state" in line and "not a postgresql:// URL" in line and "pw" not in line
    with pytest.raises(ValueError, match="BUILDCPG_STORAGE: 'bucket' is not an s3:// URL"):
        shared_settings(SharedConfig(), env={"BUILDCPG_STORAGE": "bucket"})
    assert masked("postgresql://u:pw@h:1/db") == "postgresql://u:***@h:1/db"
