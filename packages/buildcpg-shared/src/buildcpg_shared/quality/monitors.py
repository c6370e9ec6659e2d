"""Column monitors: each run's null rate, distinct count, mean, min and max of the columns ``monitors:`` names
(lab.yaml) are kept in ``_buildcpg.column_profiles``; a value outside median ± k x MAD of the same metric over
the last ``window`` runs (at least ``min_runs`` of them) is an anomaly. See docs/quality.md."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb

from buildcpg_shared.config.lab_config import MonitorsConfig
from buildcpg_shared.schema import META_SCHEMA, UTC_NOW_SQL, quote_ident, table_exists

COLUMN_PROFILES = f"{META_SCHEMA}.column_profiles"
METRICS = ("null_rate", "distinct", "mean", "min", "max")
MAD_SCALE = 1.4826  # MAD x this estimates a standard deviation (normal data)
MIN_RELATIVE_BAND = 0.01  # a band never narrower than 1% of the median: tiny drifts of a steady value are no break
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "UBIGINT", "REAL")


@dataclass
class Anomaly:
    """One metric of one column outside its band."""

    column: str
    metric: str
    value: float
    low: float
    high: float
    median: float

    def describe(self) -> str:
        return f"{self.column} {self.metric} {self.value:.4g} outside [{self.low:.4g}, {self.high:.4g}]"


@dataclass
class MonitorResult:
    """This run's monitors: how many values had a band to be checked against, and those outside it."""

    checked: int = 0
    learning: int = 0  # values without enough past runs for a band yet
    anomalies: list[Anomaly] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # monitored columns not found this run

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "anomalies": [asdict(a) for a in self.anomalies]}


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {META_SCHEMA}")
    con.execute(
        f"""create table if not exists {COLUMN_PROFILES} (
            run_id varchar not null, profiled_at timestamp not null, column_name varchar not null,
            metric varchar not null, value double)"""
    )


def _types(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    return {str(name): str(kind).upper() for name, kind in rows}


def _metric_sql(column: str, kind: str) -> list[tuple[str, str]]:
    q = quote_ident(column)
    out = [
        ("null_rate", f"case when count(*) = 0 then null else 1 - count({q}) / count(*) end"),
        ("distinct", f"count(distinct {q})"),
    ]
    if kind.startswith(_NUMERIC):
        out += [("mean", f"avg({q})"), ("min", f"min({q})"), ("max", f"max({q})")]
    elif kind.startswith(("DATE", "TIMESTAMP")):  # as epoch seconds: a feed that stops shows as a max that stalls
        out += [("min", f"epoch(min({q}))"), ("max", f"epoch(max({q}))")]
    return out


def profile(
    con: duckdb.DuckDBPyConnection, columns: list[str]
) -> tuple[dict[tuple[str, str], float | None], list[str]]:
    """This run's value of every metric of every monitored column (one query per table) and the columns missing."""
    by_table: dict[tuple[str, str], list[str]] = {}
    for qualified in columns:
        schema, table, column = qualified.split(".")
        by_table.setdefault((schema, table), []).append(column)
    values: dict[tuple[str, str], float | None] = {}
    missing: list[str] = []
    for (schema, table), cols in by_table.items():
        types = _types(con, schema, table) if table_exists(con, schema, table) else {}
        present = [c for c in cols if c in types]
        missing += [f"{schema}.{table}.{c}" for c in cols if c not in types]
        selects = [(f"{schema}.{table}.{c}", m, sql) for c in present for m, sql in _metric_sql(c, types[c])]
        if not selects:
            continue
        sql = ", ".join(sql for _c, _m, sql in selects)
        row = con.execute(f"select {sql} from {quote_ident(schema)}.{quote_ident(table)}").fetchall()[0]
        for (column, metric, _sql), value in zip(selects, row, strict=True):
            values[(column, metric)] = None if value is None else float(value)
    return values, missing


def _history(con: duckdb.DuckDBPyConnection, run_id: str, window: int) -> dict[tuple[str, str], list[float]]:
    """Each (column, metric)'s values over the last ``window`` profiled runs before ``run_id``."""
    rows = con.execute(
        f"""with runs as (select run_id, max(profiled_at) as seen_at from {COLUMN_PROFILES} where run_id <> ?
                          group by run_id order by seen_at desc limit ?)
            select column_name, metric, value from {COLUMN_PROFILES}
            where run_id in (select run_id from runs) and value is not null""",
        [run_id, window],
    ).fetchall()
    out: dict[tuple[str, str], list[float]] = {}
    for column, metric, value in rows:
        out.setdefault((str(column), str(metric)), []).append(float(value))
    return out


def band(past: list[float], k: float) -> tuple[float, float, float]:
    """(low, high, median): median ± k x scaled MAD, never narrower than 1% of the median either side."""
    median = statistics.median(past)
    mad = statistics.median(abs(x - median) for x in past)
    half = max(k * MAD_SCALE * mad, MIN_RELATIVE_BAND * abs(median))
    return median - half, median + half, median


def check(
    values: dict[tuple[str, str], float | None], history: dict[tuple[str, str], list[float]], config: MonitorsConfig
) -> MonitorResult:
    """Each value against the band of its past values (learning while fewer than ``min_runs``)."""
    result = MonitorResult()
    for (column, metric), value in values.items():
        past = history.get((column, metric), [])
        if value is None:
            continue
        if len(past) < config.min_runs:
            result.learning += 1
            continue
        result.checked += 1
        low, high, median = band(past, config.k)
        if not low <= value <= high:
            result.anomalies.append(Anomaly(column, metric, value, low, high, median))
    return result


def run_monitors(con: duckdb.DuckDBPyConnection, config: MonitorsConfig, run_id: str) -> MonitorResult:
    """Profile this run's monitored columns, check each value against the band of its past runs, keep the values."""
    ensure_table(con)
    values, missing = profile(con, config.columns)
    result = check(values, _history(con, run_id, config.window), config)
    result.missing = missing
    rows = [(run_id, column, metric, value) for (column, metric), value in values.items()]
    if rows:
        marks = ", ".join([f"(?, {UTC_NOW_SQL}, ?, ?, ?)"] * len(rows))
        con.execute(f"insert into {COLUMN_PROFILES} values {marks}", [v for row in rows for v in row])
    return result


def latest_check(con: duckdb.DuckDBPyConnection, config: MonitorsConfig) -> tuple[str, MonitorResult] | None:
    """The newest profiled run and its check against the runs before it, read-only (the report); None when
    nothing was profiled yet."""
    if not table_exists(con, META_SCHEMA, "column_profiles"):
        return None
    newest = con.execute(
        f"select run_id from {COLUMN_PROFILES} group by run_id order by max(profiled_at) desc limit 1"
    ).fetchall()
    if not newest:
        return None
    run_id = str(newest[0][0])
    monitored = set(config.columns)
    rows = con.execute(
        f"select column_name, metric, value from {COLUMN_PROFILES} where run_id = ?", [run_id]
    ).fetchall()
    values = {(str(c), str(m)): (None if v is None else float(v)) for c, m, v in rows if str(c) in monitored}
    return run_id, check(values, _history(con, run_id, config.window), config)


def series(con: duckdb.DuckDBPyConnection, columns: list[tuple[str, str]], runs: int) -> list[dict[str, Any]]:
    """Values of the given (column, metric) pairs over the last ``runs`` profiled runs, oldest first (the report)."""
    if not columns or not table_exists(con, META_SCHEMA, "column_profiles"):
        return []
    rows = con.execute(
        f"""with runs as (select run_id, max(profiled_at) as seen_at from {COLUMN_PROFILES}
                          group by run_id order by seen_at desc limit ?)
            select p.column_name, p.metric, runs.seen_at, p.value from {COLUMN_PROFILES} p join runs using (run_id)
            order by runs.seen_at""",
        [runs],
    ).fetchall()
    wanted = set(columns)
    return [{"column": c, "metric": m, "at": at, "value": v} for c, m, at, v in rows if (str(c), str(m)) in wanted]
