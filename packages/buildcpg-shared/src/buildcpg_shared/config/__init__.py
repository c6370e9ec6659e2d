"""Validated configuration files: lab.yaml."""

from buildcpg_shared.config.lab_config import (
    ColumnSpec,
    ForecastConfig,
    HttpConfig,
    LabConfig,
    PaginationConfig,
    SourceConfig,
    load_lab_config,
)

__all__ = [
    "ColumnSpec",
    "ForecastConfig",
    "HttpConfig",
    "LabConfig",
    "PaginationConfig",
    "SourceConfig",
    "load_lab_config",
]
