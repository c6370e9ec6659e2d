"""Alert routes and the schedule: config models shared by lab.yaml and the root buildcpg.yaml.

A route is chosen by its ``type`` (a discriminated union), so a typo fails at load time with the
key that is wrong. Secrets are never written in a config file: a route names the env var that
holds them (``url_env``, ``password_env``).
"""

from __future__ import annotations

import os
from pathlib import Path, PureWindowsPath
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from buildcpg_shared.config.shared import SharedConfig
from buildcpg_shared.errors import ConfigError

ALERT_KINDS = ("failed", "quality", "stale")


def path_stays_inside(path: str) -> bool:
    """Does a relative path stay inside the folder it is relative to (checked on the text alone)?"""
    if not path or Path(path).is_absolute() or PureWindowsPath(path).is_absolute():
        return False
    return not os.path.normpath(path).startswith("..")


WORKSPACE_CONFIG = "buildcpg.yaml"


class _Route(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: list[Literal["failed", "quality", "stale"]] = Field(
        default_factory=lambda: list(ALERT_KINDS), description="which incidents this route receives"
    )


class LogRoute(_Route):
    """Append one JSON line per alert to a file, relative to the workspace root and inside it
    (``allow_outside_workspace: true`` is the explicit opt-in for an absolute path or ``..``)."""

    type: Literal["log"]
    allow_outside_workspace: bool = False  # before `path`: its validator reads it
    path: str = ".buildcpg/alerts.jsonl"

    @field_validator("path")
    @classmethod
    def _inside_workspace(cls, path: str, info: ValidationInfo) -> str:
        if not info.data.get("allow_outside_workspace") and not path_stays_inside(path):
            raise ValueError(
                f"{path!r} is not inside the workspace: give a relative path without '..' "
                "(or set allow_outside_workspace: true to write there on purpose)"
            )
        return path


class WebhookRoute(_Route):
    """POST a Slack-compatible JSON body (``{"text": ...}``) to the URL held in an env var."""

    type: Literal["webhook"]
    url_env: str = "BUILDCPG_WEBHOOK_URL"
    timeout_s: float = Field(default=5.0, gt=0)


class EmailRoute(_Route):
    """Send a mail through SMTP (STARTTLS by default); the password comes from an env var."""

    type: Literal["email"]
    host: str
    port: int = 587
    starttls: bool = True
    ca_file: str | None = Field(default=None, description="CA bundle to verify the server (default: system)")
    username: str | None = None
    password_env: str | None = None
    sender: str
    to: list[str] = Field(min_length=1)
    timeout_s: float = Field(default=10.0, gt=0)


Route = Annotated[LogRoute | WebhookRoute | EmailRoute, Field(discriminator="type")]


class AlertsConfig(BaseModel):
    """Where alerts go and when data counts as stale."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    routes: list[Route] = Field(default_factory=list)
    stale_after_hours: float | None = Field(
        default=None, gt=0, description="no successful run for this long opens a 'stale' incident"
    )


class WorkspaceConfig(BaseModel):
    """The optional ``buildcpg.yaml`` at the workspace root: platform-wide settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alerts: AlertsConfig = AlertsConfig()
    shared: SharedConfig = SharedConfig()  # object storage and the state database (config/shared.py)


def validate_cron(value: str | None) -> str | None:
    """A 5-field cron expression (checked with croniter), or None."""
    if value is None:
        return None
    from croniter import croniter

    expression = " ".join(value.split())
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise ValueError(f"{value!r} is not a 5-field cron expression (e.g. '0 6 * * *')")
    return expression


def load_workspace_config(root: Path) -> WorkspaceConfig:
    """Read ``<root>/buildcpg.yaml`` if it exists (else defaults); one clear line on error."""
    path = root / WORKSPACE_CONFIG
    if not path.is_file():
        return WorkspaceConfig()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return WorkspaceConfig.model_validate(data)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {getattr(err, 'problem', None) or err}") from err
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{path}: {where}: {first['msg'].removeprefix('Value error, ')}") from err
