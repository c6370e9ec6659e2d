"""Strict type conversions: a value must fit its declared type exactly, or it is quarantined.

DuckDB's CSV reader converts leniently: ``3.53`` in an INTEGER column becomes 4, ``1.234`` in a
DECIMAL(10,2) becomes 1.23, and ``2026-01-01 10:00`` in a DATE column loses its time (duckdb
#25824). So the Load step reads such columns as text and converts them here, in SQL: a value that
does not convert is a ``CAST`` violation, one that converts with a loss is a ``LOSSY_CAST``
violation. Which columns are read as text:

* integer columns (any whole number is fine: ``4``, `` 4 ``, ``4.0``, ``1e3``);
* DECIMAL columns, unless the contract says ``round: true``;
* DATE columns (and any DATE/TIME/TIMESTAMP column with its own ``format``).

Other types (VARCHAR, BOOLEAN, DOUBLE, TIMESTAMP without a column format, ...) are converted by
DuckDB's reader as before. A binary float (DOUBLE, FLOAT) is never "exact", so it is not checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from buildcpg_shared.config import SourceConfig
from buildcpg_shared.config.lab_config import DECIMAL_TYPES, INTEGER_TYPES, TEMPORAL_TYPES, ColumnSpec
from buildcpg_shared.schema import quote_ident
from buildcpg_shared.validate.expectations import Expectation, sql_literal

_DEFAULT_DECIMAL_SCALE = 3  # DuckDB's DECIMAL without parameters is DECIMAL(18,3)


@dataclass(frozen=True)
class Conversion:
    """How one text-read column becomes its declared type: SQL over the text column."""

    column: str
    type: str
    convert: str  # the converted value, NULL when the text does not convert
    lossy: str  # true when the converted value differs from the text (never NULL for a converted value)
    shape: str = ""  # what a valid value looks like, for the reason (e.g. "in format %d/%m/%Y")
    fast_ok: str = "false"  # a cheap test that proves a value exact (most values), so only the rest pay
    fast_value: str = ""  # the value when fast_ok holds (a plain cast, raising if it does not convert)


def _scale(spec: ColumnSpec) -> int:
    if spec.base_type in INTEGER_TYPES:
        return 0
    found = re.search(r",\s*(\d+)\s*\)", spec.type)
    if found:
        return int(found.group(1))
    return 0 if "(" in spec.type else _DEFAULT_DECIMAL_SCALE


def _number(name: str, spec: ColumnSpec, source: SourceConfig) -> Conversion:
    text = f"trim({quote_ident(name)})"
    if source.decimal_separator == ",":  # a '.' is then no decimal point (1.000 may mean 1000): no number
        text = f"replace(replace({text}, '.', '?'), ',', '.')"
    converted = f"try_cast({text} as {spec.type})"
    scale = _scale(spec)
    column, sep = quote_ident(name), re.escape(source.decimal_separator)
    plain = "[+-]?[0-9]+" if scale == 0 else f"[+-]?[0-9]*({sep}[0-9]{{0,{scale}}})?"
    raw = column if source.decimal_separator == "." else f"replace({column}, ',', '.')"
    # Plain notation: lossy when a non-zero digit follows the declared scale. Exponent notation
    # (1e3, 1.235e1) is compared by value: exact up to DOUBLE's 15-16 significant digits.
    lossy = (
        f"(case when contains({text}, 'e') or contains({text}, 'E') "
        f"then coalesce(try_cast({text} as double) <> ({converted})::double, false) "
        f"else strpos({text}, '.') > 0 and length(rtrim({text}, '0')) - strpos({text}, '.') > {scale} end)"
    )
    fast_ok = f"regexp_full_match({column}, {sql_literal(plain)})"
    return Conversion(name, spec.type, converted, lossy, "", fast_ok, f"cast({raw} as {spec.type})")


_TIME_CODES = re.compile(r"%-?[HIMSpfzZXcgGnNT]")


def _temporal(name: str, spec: ColumnSpec, fmt: str | None) -> Conversion:
    text = f"trim({quote_ident(name)})"
    if fmt:
        parsed = f"try_strptime({text}, {sql_literal(fmt)})"
        converted = f"({parsed})::{spec.type}"
        with_time = spec.base_type == "DATE" and _TIME_CODES.search(fmt) is not None
        lossy = f"coalesce({parsed} <> ({converted})::timestamp, false)" if with_time else "false"
        fast_ok = "false" if with_time else "true"
        fast_value = f"strptime({text}, {sql_literal(fmt)})::{spec.type}"
        return Conversion(name, spec.type, converted, lossy, f" in format {fmt}", fast_ok, fast_value)
    converted = f"try_cast({text} as {spec.type})"
    lossy = f"(length({text}) > 10 and coalesce(try_cast({text} as timestamp) <> ({converted})::timestamp, false))"
    column = quote_ident(name)
    return Conversion(
        name, spec.type, converted, lossy, "", f"length({column}) <= 10", f"cast({column} as {spec.type})"
    )


def conversions_for(source: SourceConfig) -> dict[str, Conversion]:
    """The columns the loader reads as text and converts itself, by column name."""
    found: dict[str, Conversion] = {}
    for name, spec in source.columns.items():
        base = spec.base_type
        if base in INTEGER_TYPES or (base in DECIMAL_TYPES and not spec.round):
            found[name] = _number(name, spec, source)
        elif base in TEMPORAL_TYPES and spec.format:
            found[name] = _temporal(name, spec, spec.format)
        elif base == "DATE":
            found[name] = _temporal(name, spec, source.date_format)
    return found


@dataclass(frozen=True)
class Castable(Expectation):
    """A text value must convert to the column's type."""

    kind = "CAST"

    conversion: Conversion | None = None

    def predicate(self) -> str:
        assert self.conversion is not None
        return f"({quote_ident(self.column)} is not null and ({self.conversion.convert}) is null)"

    def reason(self) -> str:
        assert self.conversion is not None
        what = f" of {self.column} is not a valid {self.conversion.type}{self.conversion.shape}"
        return f"'value ' || {quote_ident(self.column)} || {sql_literal(what)}"


@dataclass(frozen=True)
class ExactFit(Expectation):
    """A text value that converts must convert without loss (no rounding, no dropped time of day)."""

    kind = "LOSSY_CAST"

    conversion: Conversion | None = None

    def predicate(self) -> str:
        assert self.conversion is not None
        c = self.conversion
        return f"({quote_ident(self.column)} is not null and ({c.convert}) is not null and {c.lossy})"

    def reason(self) -> str:
        assert self.conversion is not None
        c = self.conversion
        return (
            f"'value ' || {quote_ident(self.column)} || "
            f"{sql_literal(f' of {self.column} does not fit {c.type} exactly')}"
            f" || ' (it would be stored as ' || ({c.convert})::varchar || ')'"
        )


def cast_rules(conversions: dict[str, Conversion]) -> list[Expectation]:
    """The CAST and LOSSY_CAST rules of the text-read columns (checked on the text, before conversion)."""
    rules: list[Expectation] = []
    for name, conversion in conversions.items():
        rules += [Castable(name, conversion), ExactFit(name, conversion)]
    return rules


def strict_value(conversion: Conversion) -> str:
    """SQL of the converted value that raises when the text does not fit (the fast path's guard)."""
    c = conversion
    fail = sql_literal(f"buildcpg: a value of {c.column} does not fit {c.type} exactly")
    return (
        f"case when {quote_ident(c.column)} is null then null when {c.fast_ok} then {c.fast_value} "
        f"when ({c.convert}) is not null and not {c.lossy} then {c.convert} else error({fail}) end"
    )
