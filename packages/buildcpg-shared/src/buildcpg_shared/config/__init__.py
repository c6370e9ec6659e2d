"""Validated configuration files: lab.yaml."""

from buildcpg_shared.config.lab_config import ColumnSpec, LabConfig, SourceConfig, load_lab_config

__all__ = ["ColumnSpec", "LabConfig", "SourceConfig", "load_lab_config"]
