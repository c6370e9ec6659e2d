"""Up to 5 failing rows of each failing test, read at report time on the lab's read-only connection: from the
table dbt's ``store_failures`` wrote, else by running the test's compiled SQL (a SELECT of its failing rows)
with a limit. A query that runs too long is interrupted; a sample that cannot be read says why."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import duckdb

from buildcpg_shared.errors import first_line
from buildcpg_shared.node_errors import kept_run_results

SAMPLE_ROWS = 5
QUERY_SECONDS = 5.0  # per test: a heavy test query must not hold the report
CELL_CHARS = 80


def _kept_results(target: Path) -> dict[str, dict[str, Any]]:
    """Test results by unique_id from the kept ``run_results`` of ``dbt build`` and ``dbt test`` (newest wins)."""
    kept = sorted(
        (p for p in (kept_run_results(target, "build"), kept_run_results(target, "test")) if p.is_file()),
        key=lambda p: p.stat().st_mtime_ns,
    )
    out: dict[str, dict[str, Any]] = {}
    for path in kept:
        try:
            results = json.loads(path.read_text(encoding="utf-8")).get("results") or []
        except (OSError, ValueError, AttributeError):
            continue
        out.update({str(r.get("unique_id")): r for r in results if str(r.get("unique_id", "")).startswith("test.")})
    return out


def _sql(result: dict[str, Any]) -> tuple[str, str]:
    """(the query of the failing rows, where they come from) or ("", why not)."""
    relation = result.get("relation_name")
    if relation:
        return f"select * from {relation} limit {SAMPLE_ROWS}", "stored failures"
    code = str(result.get("compiled_code") or "").strip().rstrip(";").strip()
    if not code:
        return "", "no compiled SQL kept for this test"
    return f"select * from ({code}\n) as failing limit {SAMPLE_ROWS}", "the test's query"


def _cell(value: Any) -> str:
    text = "null" if value is None else str(value)
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"


def _query(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[list[str]]]:
    timer = threading.Timer(QUERY_SECONDS, con.interrupt)
    timer.start()
    try:
        cursor = con.execute(sql)
        rows = cursor.fetchall()
    finally:
        timer.cancel()
    columns = [str(d[0]) for d in cursor.description or []]
    return columns, [[_cell(v) for v in row] for row in rows]


def failing_rows(con: duckdb.DuckDBPyConnection, target: Path, unique_ids: list[str]) -> dict[str, dict[str, Any]]:
    """``{unique_id: {"columns", "rows", "source", "error"}}`` for the failing tests named."""
    if not unique_ids:
        return {}
    kept = _kept_results(target)
    out: dict[str, dict[str, Any]] = {}
    for uid in unique_ids:
        sample: dict[str, Any] = {"columns": [], "rows": [], "source": "", "error": ""}
        result = kept.get(uid)
        sql, sample["source"] = _sql(result) if result else ("", "not in the kept run_results of dbt")
        if not sql:
            sample["error"], sample["source"] = sample["source"], ""
        else:
            try:
                sample["columns"], sample["rows"] = _query(con, sql)
            except (duckdb.Error, RuntimeError) as err:
                sample["error"] = f"rows not read: {first_line(err)}"
        out[uid] = sample
    return out
