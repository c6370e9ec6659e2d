"""Quality data kept in the lab database: ``_buildcpg.test_results`` and ``_buildcpg.quality_history``."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from buildcpg_shared.inspect.inspector import DataInspector
from buildcpg_shared.quality.artifacts import DbtArtifacts
from buildcpg_shared.quality.score import QualityScore
from buildcpg_shared.schema import META_SCHEMA, QUARANTINE_SCHEMA, UTC_NOW_SQL, table_exists

TEST_RESULTS = f"{META_SCHEMA}.test_results"
QUALITY_HISTORY = f"{META_SCHEMA}.quality_history"
LAB_SCOPE = "lab"


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the two quality tables if missing."""
    con.execute(f"create schema if not exists {META_SCHEMA}")
    con.execute(
        f"""create table if not exists {TEST_RESULTS} (
            run_id varchar not null, recorded_at timestamp not null, kind varchar not null,
            unique_id varchar not null, name varchar, test_type varchar, relation varchar,
            column_name varchar, status varchar not null, failures bigint, message varchar
        )"""
    )
    con.execute(
        f"""create table if not exists {QUALITY_HISTORY} (
            run_id varchar not null, scored_at timestamp not null, scope varchar not null,
            score double not null, threshold double, passed boolean, row_count bigint, parts json
        )"""
    )
    # why a run's score was set to 0 whatever its parts ("transform failed"); '' when not gated
    con.execute(f"alter table {QUALITY_HISTORY} add column if not exists gate varchar default ''")


def record_artifacts(con: duckdb.DuckDBPyConnection, run_id: str, artifacts: DbtArtifacts) -> None:
    """Store every test outcome and every freshness verdict of one run."""
    rows: list[tuple[Any, ...]] = [
        ("test", t.unique_id, t.name, t.test_type, ",".join(t.models), t.column_name, t.status, t.failures, t.message)
        for t in artifacts.tests
    ]
    rows += [
        ("freshness", f.unique_id, f.source, "freshness", f.source, "_loaded_at", f.status, None, _age_text(f.age_s))
        for f in artifacts.freshness
    ]
    _insert(con, TEST_RESULTS, [(run_id, *row) for row in rows], now_at=1)


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple[Any, ...]], now_at: int) -> None:
    """Insert rows in one statement (never row by row), with ``current_timestamp`` at column ``now_at``."""
    if not rows:
        return
    width = len(rows[0])
    marks = ["?"] * width
    marks.insert(now_at, UTC_NOW_SQL)
    values = ", ".join(f"({', '.join(marks)})" for _ in rows)
    con.execute(f"insert into {table} values {values}", [v for row in rows for v in row])


def _age_text(age_s: float | None) -> str:
    return "" if age_s is None else f"newest _loaded_at {age_s / 3600:.1f} h old"


def record_score(con: duckdb.DuckDBPyConnection, run_id: str, score: QualityScore) -> None:
    """Append the lab's score and each gold table's score to the history."""
    entries = [score, *score.tables.values()]
    rows = [
        (
            run_id,
            s.scope,
            s.score,
            s.threshold,
            s.passed,
            s.row_count,
            json.dumps([p.to_dict() for p in s.parts]),
            s.gate,
        )
        for s in entries
    ]
    _insert(con, QUALITY_HISTORY, rows, now_at=1)


def outcome_counts(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, int]:
    """How many tests and freshness checks of one run ended in each status (``{"pass": 75, "warn": 1}``)."""
    if not has_table(con, TEST_RESULTS):
        return {}
    rows = con.execute(
        f"select status, count(*) from {TEST_RESULTS} where run_id = ? group by status", [run_id]
    ).fetchall()
    return {str(status): int(n) for status, n in rows}


def has_table(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    """Does a ``schema.table`` name of this module exist?"""
    schema, _, table = qualified.partition(".")
    return table_exists(con, schema, table)


def recent_row_counts(con: duckdb.DuckDBPyConnection, scope: str, window: int) -> list[int]:
    """Row counts of the last ``window`` scored runs of one scope (newest first)."""
    if not has_table(con, QUALITY_HISTORY):
        return []
    rows = con.execute(
        f"select row_count from {QUALITY_HISTORY} where scope = ? and row_count is not null "
        "order by scored_at desc limit ?",
        [scope, window],
    ).fetchall()
    return [int(r[0]) for r in rows]


def _scores(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    """Rows of ``quality_history`` as dicts, their ``parts`` JSON decoded."""
    cursor = con.execute(sql, params)
    keys = [d[0] for d in cursor.description or []]
    out = [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]
    for item in out:
        item["parts"] = json.loads(item["parts"]) if item.get("parts") else []
        item["gate"] = item.get("gate") or ""  # a copy written before gates existed has no such column
    return out


def history(con: duckdb.DuckDBPyConnection, scope: str = LAB_SCOPE, limit: int = 50) -> list[dict[str, Any]]:
    """Scores of one scope, oldest first (for the CLI and the report)."""
    if not has_table(con, QUALITY_HISTORY):
        return []
    sql = f"select * exclude (scope) from {QUALITY_HISTORY} where scope = ? order by scored_at desc limit ?"
    return list(reversed(_scores(con, sql, [scope, limit])))


def latest(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """The newest score of every scope of the last scored run (``lab`` and each gold table)."""
    if not has_table(con, QUALITY_HISTORY):
        return {}
    sql = f"""select * from {QUALITY_HISTORY}
              where run_id = (select run_id from {QUALITY_HISTORY} order by scored_at desc limit 1)
              order by scope"""
    return {str(item["scope"]): item for item in _scores(con, sql, [])}


def failed_tests(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Tests and freshness checks that did not pass in the last recorded run."""
    if not has_table(con, TEST_RESULTS):
        return []
    rows = con.execute(
        f"""select kind, name, relation, column_name, status, failures, message from {TEST_RESULTS}
            where run_id = (select run_id from {TEST_RESULTS} order by recorded_at desc limit 1)
              and status not in ('pass', 'success', 'skipped') order by kind, name"""
    ).fetchall()
    keys = ("kind", "name", "relation", "column_name", "status", "failures", "message")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def freshness(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The last freshness verdict of every source."""
    if not has_table(con, TEST_RESULTS):
        return []
    rows = con.execute(
        f"""select name, status, message, recorded_at from {TEST_RESULTS} where kind = 'freshness'
            and run_id = (select run_id from {TEST_RESULTS} where kind = 'freshness'
                          order by recorded_at desc limit 1) order by name"""
    ).fetchall()
    return [dict(zip(("source", "status", "detail", "checked_at"), r, strict=True)) for r in rows]


QUARANTINE_SUMMARY = f"{META_SCHEMA}.quarantine_summary"


def quarantine_summary_sql(con: duckdb.DuckDBPyConnection) -> str | None:
    """A query of quarantined rows by source, column and reason (None when nothing is quarantined yet)."""
    tables = [t for _, t in DataInspector(con).tables([QUARANTINE_SCHEMA])]
    if not tables:
        return None
    return " union all ".join(
        f"select '{t}' as source, column_name, error_type, count(*) as row_count "
        f'from {QUARANTINE_SCHEMA}."{t}" group by all'
        for t in tables
    )


def quarantine_by_reason(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Quarantined rows by source, column and reason: from the quarantine tables, or the serving summary."""
    sql = f"select * from {QUARANTINE_SUMMARY}" if has_table(con, QUARANTINE_SUMMARY) else quarantine_summary_sql(con)
    if sql is None:
        return []
    rows = con.execute(f"select * from ({sql}) order by row_count desc, source").fetchall()
    return [dict(zip(("source", "column", "reason", "rows"), r, strict=True)) for r in rows]
