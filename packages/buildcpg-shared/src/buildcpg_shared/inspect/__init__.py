"""The DataInspector: tables, row counts and column profiles of a lab database."""

from buildcpg_shared.inspect.inspector import ColumnProfile, DataInspector, TableProfile

__all__ = ["ColumnProfile", "DataInspector", "TableProfile"]
