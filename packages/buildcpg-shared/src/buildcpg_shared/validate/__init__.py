"""Validators and expectations: one place for the rules a row must meet, as SQL over DuckDB.

Used by the Load step to enforce a source's contract, and usable by quality checks on any table.
"""

from buildcpg_shared.validate.expectations import (
    AcceptedValues,
    Expectation,
    NotNull,
    Pattern,
    Range,
    UniqueKey,
    count_violations,
    expectations_for,
    sql_literal,
    violations_query,
)

__all__ = [
    "AcceptedValues",
    "Expectation",
    "NotNull",
    "Pattern",
    "Range",
    "UniqueKey",
    "count_violations",
    "expectations_for",
    "sql_literal",
    "violations_query",
]
