"""What people ask about a lab's past: per-test outcomes over the last runs, dbt model run times, lineage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from buildcpg_shared.node_errors import dbt_error_line, kept_run_results
from buildcpg_shared.quality import store
from buildcpg_shared.report.lineage import lineage_svg, node_statuses
from buildcpg_shared.report.run_times import run_time_trends

PASSED = ("pass", "success")
FAILED = ("fail", "error", "runtime error")


def test_history(con: duckdb.DuckDBPyConnection, runs: int = 10) -> dict[str, Any]:
    """``{"runs": [run ids, oldest first], "runs_at": [their times], "tests": [...]}`` over the last ``runs``
    recorded runs; tests failing now first. A test: name, relation (its model), unique_id, ``statuses`` ("" where
    it did not run), ``last_pass`` (newest pass in all the history) and ``first_failure`` (the first failure since
    that pass: when a test failing now began to fail; None for a test passing now)."""
    empty: dict[str, Any] = {"runs": [], "runs_at": [], "tests": []}
    if not store.has_table(con, store.TEST_RESULTS):
        return empty
    recent = con.execute(
        f"""select run_id, max(recorded_at) as seen_at from {store.TEST_RESULTS} where kind = 'test' group by run_id
            order by seen_at desc limit ?""",
        [runs],
    ).fetchall()[::-1]
    if not recent:
        return empty
    run_ids = [r[0] for r in recent]
    rows = con.execute(
        f"""with per_run as (
              select name, run_id, any_value(relation) as relation, any_value(unique_id) as unique_id,
                     any_value(status) as status, max(recorded_at) as seen_at
              from {store.TEST_RESULTS} where kind = 'test' group by name, run_id),
            passes as (
              select name, max(seen_at) as last_pass from per_run where status in (select unnest(?)) group by name),
            since as (
              select p.name, min(p.seen_at) as first_failure from per_run p left join passes using (name)
              where p.status in (select unnest(?)) and p.seen_at > coalesce(passes.last_pass, timestamp '0001-01-01')
              group by p.name)
            select r.name, r.relation, r.unique_id, r.run_id, r.status, passes.last_pass, since.first_failure
            from per_run r left join passes using (name) left join since using (name)
            where r.run_id in (select unnest(?))""",
        [list(PASSED), list(FAILED), run_ids],
    ).fetchall()
    by_test: dict[str, dict[str, Any]] = {}
    for name, relation, unique_id, run_id, status, last_pass, first_failure in rows:
        entry = by_test.setdefault(
            name,
            {
                "name": name,
                "relation": relation,
                "unique_id": unique_id,
                "statuses": [""] * len(run_ids),
                "last_pass": last_pass,
                "first_failure": first_failure,
            },
        )
        entry["statuses"][run_ids.index(run_id)] = status
    rank = {"error": 0, "fail": 0, "runtime error": 0, "warn": 1}
    tests = sorted(by_test.values(), key=lambda t: (rank.get(t["statuses"][-1], 2), t["name"]))
    return {"runs": run_ids, "runs_at": [r[1] for r in recent], "tests": tests}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def model_run_times(target: Path, manifest: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Models of the last ``dbt run`` or ``dbt build`` (the newer kept ``run_results.json``), slowest first:
    name, status, seconds, file, error line."""
    nodes = (manifest if manifest is not None else _read_json(target / "manifest.json")).get("nodes", {})
    out = []
    kept = [p for p in (kept_run_results(target, "run"), kept_run_results(target, "build")) if p.is_file()]
    newest = max(kept, key=lambda p: p.stat().st_mtime_ns, default=target / "run_results.json")
    for result in _read_json(newest).get("results", []):
        uid = str(result.get("unique_id", ""))
        if not uid.startswith("model."):
            continue
        node = nodes.get(uid, {})
        status = str(result.get("status", ""))
        out.append(
            {
                "unique_id": uid,
                "name": node.get("name") or uid.rsplit(".", 1)[-1],
                "status": status,
                "seconds": float(result.get("execution_time") or 0.0),
                "file": node.get("original_file_path", ""),
                "error": dbt_error_line(result.get("message")) if status in ("error", "fail") else "",
            }
        )
    return sorted(out, key=lambda m: -m["seconds"])


def dbt_history(
    target: Path, kept_dir: Path | None = None, test_status: dict[str, str] | None = None
) -> dict[str, Any]:
    """Model run times, their trends over the runs kept in ``kept_dir``, and the lineage graph from a lab's dbt
    ``target/`` folder, its nodes coloured by their last build result and ``test_status`` (test id: status)."""
    manifest = _read_json(target / "manifest.json")
    no_trends: dict[str, Any] = {"runs": [], "models": [], "flagged": [], "svg": ""}
    trends = run_time_trends(kept_dir, manifest.get("nodes", {})) if kept_dir else no_trends
    run_times = model_run_times(target, manifest)
    statuses = node_statuses(manifest, {m["unique_id"]: m["status"] for m in run_times}, test_status or {})
    return {
        "run_times": run_times,
        "trends": trends,
        "lineage_svg": lineage_svg(manifest, statuses) if manifest else "",
        "node_statuses": statuses,
    }
