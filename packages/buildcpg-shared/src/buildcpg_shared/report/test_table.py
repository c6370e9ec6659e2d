"""One table of every dbt test across labs: its status over the last runs, first failure, last pass, and a
sample of its failing rows; the report filters it by lab, status and text in the page itself."""

from __future__ import annotations

from typing import Any

from buildcpg_shared.report.history import FAILED, PASSED
from buildcpg_shared.report.timefmt import utc_text

ORDER = {"failing": 0, "warn": 1, "not run": 2, "pass": 3}


def status_group(status: str) -> str:
    """What the filter offers: failing (fail or error), warn, pass, or not run (in the lab's newest run)."""
    if status in FAILED:
        return "failing"
    if status in PASSED:
        return "pass"
    return status or "not run"


def cross_lab_tests(labs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the cross-lab test table from each collected lab's ``test_history`` and ``failing_rows``;
    failing first, then by lab and test."""
    rows: list[dict[str, Any]] = []
    for lab in labs:
        history = lab.get("test_history") or {}
        runs = list(zip(history.get("runs") or [], history.get("runs_at") or [], strict=False))
        for test in history.get("tests") or []:
            now = test["statuses"][-1] if test["statuses"] else ""
            cells = [
                {"status": status or "none", "title": f"{run_id} · {utc_text(at)}: {status or 'not run'}"}
                for (run_id, at), status in zip(runs, test["statuses"], strict=False)
            ]
            rows.append(
                {
                    "lab": lab["name"],
                    "name": test["name"],
                    "model": test.get("relation") or "",
                    "status": now or "not run",
                    "group": status_group(now),
                    "cells": cells,
                    "first_failure": test.get("first_failure"),
                    "last_pass": test.get("last_pass"),
                    "sample": (lab.get("failing_rows") or {}).get(test.get("unique_id") or ""),
                }
            )
    return sorted(rows, key=lambda r: (ORDER.get(r["group"], 2), r["lab"], r["name"]))
