"""The lab.yaml model and its loader.

A bad file stops with one line naming the file, the key and the problem, e.g.
``labs/lab1/lab.yaml: sources.sales.columns.units.type: unknown DuckDB type 'INTEGR'``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from buildcpg_shared.config.alerts import AlertsConfig, validate_cron
from buildcpg_shared.errors import ConfigError

LAB_NAME_RE = re.compile(r"^lab\d+_[a-z0-9]+(?:_[a-z0-9]+)*$")
IDENTIFIER_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
_BASE_TYPES = {
    "BOOLEAN",
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "FLOAT",
    "REAL",
    "DOUBLE",
    "DECIMAL",
    "NUMERIC",
    "VARCHAR",
    "TEXT",
    "DATE",
    "TIME",
    "TIMESTAMP",
    "TIMESTAMPTZ",
    "INTERVAL",
    "UUID",
    "BLOB",
    "JSON",
}
_TYPE_RE = re.compile(r"^([A-Z]+)\s*(\(\s*\d+\s*(,\s*\d+\s*)?\))?$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(_Strict):
    """One column of a source: its DuckDB type and whether a value is required."""

    type: str
    required: bool = False
    description: str = ""

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        normalized = " ".join(value.upper().split())
        match = _TYPE_RE.match(normalized)
        if not match or match.group(1) not in _BASE_TYPES:
            raise ValueError(f"unknown DuckDB type {value!r} (e.g. VARCHAR, INTEGER, DATE, DECIMAL(10,2))")
        return normalized


class SourceConfig(_Strict):
    """A raw source: which files under data/raw, and the contract their rows must meet."""

    files: str = Field(description="glob under the lab's data/raw folder")
    description: str = ""
    columns: dict[str, ColumnSpec]
    primary_key: list[str] = Field(default_factory=list)
    delimiter: str = ","
    encoding: str = "utf-8"

    @field_validator("columns", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """Accept ``name: TYPE`` as shorthand for ``name: {type: TYPE}``."""
        if isinstance(value, dict):
            return {k: ({"type": v} if isinstance(v, str) else v) for k, v in value.items()}
        return value

    @field_validator("files")
    @classmethod
    def _relative_glob(cls, value: str) -> str:
        if value.startswith("/") or ".." in Path(value).parts:
            raise ValueError(f"{value!r} must be a glob inside data/raw (no absolute path, no '..')")
        return value

    @model_validator(mode="after")
    def _keys_are_columns(self) -> SourceConfig:
        if not self.columns:
            raise ValueError("columns: at least one column is needed")
        for name in self.columns:
            if not IDENTIFIER_RE.match(name):
                raise ValueError(f"column name {name!r} must be lowercase snake_case")
        missing = [k for k in self.primary_key if k not in self.columns]
        if missing:
            raise ValueError(f"primary_key names unknown column(s): {', '.join(missing)}")
        return self

    @property
    def duckdb_columns(self) -> dict[str, str]:
        """Column name → DuckDB type, in file order."""
        return {name: spec.type for name, spec in self.columns.items()}


class QualityConfig(_Strict):
    """Quality thresholds of the lab."""

    min_score: float = Field(default=80, ge=0, le=100)


class LabConfig(_Strict):
    """A whole lab.yaml."""

    name: str
    title: str = ""
    description: str = ""
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    quality: QualityConfig = QualityConfig()
    schedule: str | None = Field(default=None, description="cron expression: when `buildcpg run --due` runs it")
    alerts: AlertsConfig = AlertsConfig()
    timeout_s: float | None = Field(default=None, gt=0, description="kill a run of this lab after this many seconds")

    @field_validator("name")
    @classmethod
    def _lab_name(cls, value: str) -> str:
        if not LAB_NAME_RE.match(value):
            raise ValueError(f"{value!r} is not a lab name (lowercase 'lab<N>_<words>', e.g. lab4_pricing)")
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return validate_cron(value)

    @field_validator("sources")
    @classmethod
    def _source_names(cls, value: dict[str, SourceConfig]) -> dict[str, SourceConfig]:
        for name in value:
            if not IDENTIFIER_RE.match(name):
                raise ValueError(f"source name {name!r} must be lowercase snake_case")
        return value


def _location(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("function-after", "function-before")]
    return ".".join(parts) or "(top level)"


def load_lab_config(path: Path) -> LabConfig:
    """Read and validate a lab.yaml; raise ConfigError with file, key and problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(f"{path}:{where}: not valid YAML: {problem}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys (name, sources, ...), got {type(data).__name__}")
    try:
        config = LabConfig.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        more = f" (and {err.error_count() - 1} more problem(s))" if err.error_count() > 1 else ""
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see docs/contracts.md)"
        raise ConfigError(f"{path}: {_location(first['loc'])}: {message}{more}") from err
    folder = path.parent.name
    if config.name != folder:
        raise ConfigError(f"{path}: name: {config.name!r} must match the lab folder name {folder!r}")
    return config
