"""Expectations as SQL: each one says, for a row, whether it breaks the rule and why.

Row rules (``NotNull``, ``AcceptedValues``, ``Range``, ``Pattern``) are a NULL-safe predicate that
is true for a violating row plus a reason expression. ``UniqueKey`` is a rule over a set of rows:
every copy of a key after the first (by an order column) violates it.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from buildcpg_shared.config import SourceConfig
from buildcpg_shared.schema import quote_ident


def sql_literal(value: object) -> str:
    """A SQL literal for a str, int, float or bool (strings quoted, quotes doubled)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _shown(column: str) -> str:
    return f"coalesce(({quote_ident(column)})::varchar, 'NULL')"


@dataclass(frozen=True)
class Expectation:
    """Base: a rule on one column (or a key) with a SQL predicate and a SQL reason."""

    column: str
    kind = "RULE"

    def predicate(self) -> str:
        """SQL true when a row violates the rule (never NULL)."""
        raise NotImplementedError

    def reason(self) -> str:
        """SQL expression (varchar) describing the violation of one row."""
        raise NotImplementedError

    def describe(self) -> str:
        """The rule in words, for docs (e.g. the generated dbt sources): ``one of: North, South``."""
        raise NotImplementedError


@dataclass(frozen=True)
class NotNull(Expectation):
    """A required column: a value must be present."""

    kind = "REQUIRED"

    def predicate(self) -> str:
        return f"{quote_ident(self.column)} is null"

    def reason(self) -> str:
        return sql_literal(f"required value of {self.column} is missing")

    def describe(self) -> str:
        return "required"


@dataclass(frozen=True)
class AcceptedValues(Expectation):
    """The value must be one of a fixed list."""

    kind = "ACCEPTED_VALUES"

    values: tuple[str | int | float, ...]

    def predicate(self) -> str:
        listed = ", ".join(sql_literal(v) for v in self.values)
        return f"({quote_ident(self.column)} is not null and {quote_ident(self.column)} not in ({listed}))"

    def reason(self) -> str:
        return f"'value ' || {_shown(self.column)} || {sql_literal(f' of {self.column} is not {self.describe()}')}"

    def describe(self) -> str:
        return "one of: " + ", ".join(str(v) for v in self.values)


@dataclass(frozen=True)
class Range(Expectation):
    """The value must lie within [low, high] (either bound optional; numbers or ISO dates)."""

    kind = "RANGE"

    low: int | float | str | None = None
    high: int | float | str | None = None

    def predicate(self) -> str:
        col = quote_ident(self.column)
        parts = []
        if self.low is not None:
            parts.append(f"{col} < {sql_literal(self.low)}")
        if self.high is not None:
            parts.append(f"{col} > {sql_literal(self.high)}")
        return f"({col} is not null and ({' or '.join(parts) or 'false'}))"

    def reason(self) -> str:
        col = quote_ident(self.column)
        bounds = f"[{'' if self.low is None else self.low}, {'' if self.high is None else self.high}]"
        low = f"{col} < {sql_literal(self.low)}" if self.low is not None else "false"
        return (
            f"'value ' || {_shown(self.column)} || ' of {self.column} is ' || "
            f"(case when {low} then 'below' else 'above' end) || {sql_literal(f' the range {bounds}')}"
        )

    def describe(self) -> str:
        bounds = [
            f"at least {self.low}" if self.low is not None else "",
            f"at most {self.high}" if self.high is not None else "",
        ]
        return " and ".join(b for b in bounds if b)


@dataclass(frozen=True)
class Pattern(Expectation):
    """A text value must match a regular expression in full."""

    kind = "PATTERN"

    regex: str

    def predicate(self) -> str:
        col = quote_ident(self.column)
        return f"({col} is not null and not regexp_full_match(({col})::varchar, {sql_literal(self.regex)}))"

    def reason(self) -> str:
        return f"'value ' || {_shown(self.column)} || {sql_literal(f' of {self.column} does not match {self.regex}')}"

    def describe(self) -> str:
        return f"matches {self.regex}"


@dataclass(frozen=True)
class UniqueKey(Expectation):
    """The key columns identify one row: later copies of a key violate it."""

    kind = "DUPLICATE_KEY"

    columns: tuple[str, ...] = ()

    def partition(self) -> str:
        return ", ".join(quote_ident(c) for c in self.columns)

    def predicate(self) -> str:
        return "_dup_rank > 1"

    def reason(self) -> str:
        shown = " || ', ' || ".join(f"'{c}=' || {_shown(c)}" for c in self.columns)
        return f"'duplicate primary key (' || {shown} || ') first seen on line ' || _dup_first::varchar"

    def describe(self) -> str:
        return f"primary key ({', '.join(self.columns)}): a later copy of a key in the same file is quarantined"


def expectations_for(source: SourceConfig) -> list[Expectation]:
    """The row and key rules a source's contract declares (types are enforced by the reader)."""
    rules: list[Expectation] = []
    for name, spec in source.columns.items():
        if spec.required:
            rules.append(NotNull(name))
        if spec.accepted_values is not None:
            rules.append(AcceptedValues(name, tuple(spec.accepted_values)))
        if spec.min is not None or spec.max is not None:
            rules.append(Range(name, spec.min, spec.max))
        if spec.pattern is not None:
            rules.append(Pattern(name, spec.pattern))
    if source.primary_key:
        rules.append(UniqueKey(",".join(source.primary_key), tuple(source.primary_key)))
    return rules


def _row_rules(rules: list[Expectation]) -> list[Expectation]:
    return [r for r in rules if not isinstance(r, UniqueKey)]


def _key_rule(rules: list[Expectation]) -> UniqueKey | None:
    return next((r for r in rules if isinstance(r, UniqueKey)), None)


def count_violations(con: duckdb.DuckDBPyConnection, relation: str, rules: list[Expectation], where: str = "") -> int:
    """How many rows of ``relation`` break a row rule, plus surplus copies of a duplicated key."""
    filt = f"where {where}" if where else ""
    total = 0
    row_rules = _row_rules(rules)
    if row_rules:
        cond = " or ".join(r.predicate() for r in row_rules)
        found = con.execute(f"select count(*) from {relation} {filt} {'and' if where else 'where'} ({cond})").fetchone()
        total += int(found[0]) if found else 0
    key = _key_rule(rules)
    if key is not None:
        # Distinct 64-bit hashes prove distinct keys and are much cheaper to count than the keys;
        # only when two hashes meet (a duplicate, or a rare collision) are the keys grouped exactly.
        clash = con.execute(f"select count(*) - count(distinct hash({key.partition()})) from {relation} {filt}")
        found = clash.fetchone()
        if found and found[0]:
            found = con.execute(
                f"select coalesce(sum(n - 1), 0) from (select count(*) as n from {relation} {filt} "
                f"group by {key.partition()} having count(*) > 1)"
            ).fetchone()
            total += int(found[0]) if found else 0
    return total


def violations_query(relation: str, rules: list[Expectation], order_column: str) -> str:
    """SQL over ``relation``: every (row, broken rule) with ``_violation_type/_column/_reason``.

    ``order_column`` orders the copies of a key: the first copy is kept, later ones violate.
    """
    key = _key_rule(rules)
    if key is not None:
        window = f"partition by {key.partition()} order by {order_column}"
        ranked = (
            f"select *, row_number() over ({window}) as _dup_rank, "
            f"first_value({order_column}) over ({window}) as _dup_first from {relation}"
        )
    else:
        ranked = f"select *, 1 as _dup_rank, null as _dup_first from {relation}"
    parts = [
        f"select * exclude (_dup_rank, _dup_first), {sql_literal(rule.kind)} as _violation_type, "
        f"{sql_literal(rule.column)} as _violation_column, {rule.reason()} as _violation_reason "
        f"from _ranked where {rule.predicate()}"
        for rule in rules
    ] or [
        "select * exclude (_dup_rank, _dup_first), '' as _violation_type, '' as _violation_column, "
        "'' as _violation_reason from _ranked where false"
    ]
    return f"with _ranked as ({ranked}) " + " union all ".join(parts)
