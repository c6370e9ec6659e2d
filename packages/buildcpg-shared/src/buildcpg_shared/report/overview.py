"""One overview row per lab: a red/amber/green status that a failed or stale lab can never show green."""

from __future__ import annotations

from typing import Any

from buildcpg_shared.history import LabHealth
from buildcpg_shared.run_record import LabRunRecord, Status
from buildcpg_shared.serving.version import PublishedVersion

RED, AMBER, GREEN = "red", "amber", "green"


def score_coverage(score: dict[str, Any] | None) -> dict[str, Any]:
    """How many of a score's parts were measured: ``too_few`` when most are n/a (the number then says little:
    an adopted lab with only its tests measured would read 100/100)."""
    parts = (score or {}).get("parts") or []
    measured = [p for p in parts if p.get("value") is not None and float(p.get("weight") or 0) > 0]
    missing = [str(p.get("name", "")) for p in parts if p not in measured]
    return {
        "measured": len(measured),
        "parts": len(parts),
        "missing": missing,
        "too_few": bool(parts) and 2 * len(measured) < len(parts) and not (score or {}).get("gate"),
    }


def overview_row(data: dict[str, Any], health: LabHealth | None, stale_after_hours: float | None) -> dict[str, Any]:
    """The status (with every reason for it), score, last success, freshness, rows published, open incidents."""
    red: list[str] = []
    amber: list[str] = []
    run: LabRunRecord | None = data.get("last_run")
    published: PublishedVersion | None = data.get("published")
    unreadable = data.get("broken") or data.get("damaged")  # a broken lab.yaml or a damaged database
    if unreadable:
        red.append(data["note"])
    if run is None:
        amber.append("never run")
    elif run.status == Status.FAILED:
        red.append(f"last run failed: {run.error}" if run.error else "last run failed")
    elif run.status == Status.SKIPPED:
        amber.append(f"last run not started: {run.error}" if run.error else "last run skipped")
    elif run.status == Status.WARN:
        warned = run.names_with(Status.WARN)
        amber.append("last run warned" + (f" at {', '.join(warned)}" if warned else ""))
    unfinished = health.unfinished if health else None
    if unfinished is not None and unfinished.state == "died":  # a later attempt than ``run``, killed unrecorded
        red.append(f"last run died: {unfinished.describe()}")
    if run is not None and not run.status.passed and published is not None:
        amber.append(f"BI reads the last good copy: {published.describe()}")
    last_success = health.last_success if health else None
    if not last_success and run is not None and run.status.passed:
        last_success = run.finished_at
    hours = health.hours_since_success() if health and health.last_success else None
    if stale_after_hours is not None and run and (hours is None or hours > stale_after_hours):
        since = "never" if hours is None else f"{hours:.1f} h ago"
        red.append(f"stale: last success {since} (limit {stale_after_hours:g} h)")
    fresh = data.get("freshness") or []
    late = [f for f in fresh if f["status"] not in ("pass", "success")]
    if late:
        worst = [f for f in late if f["status"] not in ("warn",)]
        text = "stale data: " + ", ".join(f"{f['source']} ({f['detail']})" for f in late)
        (red if worst else amber).append(text)
    freshness = "not checked" if not fresh else (f"{len(fresh)} source(s) fresh" if not late else text)
    score = (data.get("latest") or {}).get("lab")
    if score and not score.get("passed"):
        red.append(f"score {score['score']:.1f} below {score['threshold']:g}")
    monitors = data.get("monitors") or {}
    if monitors.get("anomalies"):
        first = monitors["anomalies"][0]
        text = f"column anomaly: {first['column']} {first['metric']} {first['value']:.4g} outside its band"
        more = len(monitors["anomalies"]) - 1
        (red if monitors.get("severity") == "error" else amber).append(text + (f" (+{more} more)" if more else ""))
    incidents = list(health.open_incidents) if health else []
    if incidents:
        red.append(f"open incident: {', '.join(incidents)}")
    if data.get("note") and not unreadable:
        amber.append(data["note"])
    return {
        "status": RED if red else (AMBER if amber else GREEN),
        "reasons": red + amber,
        "score": score,
        "coverage": score_coverage(score),
        "last_success": last_success,
        "freshness": freshness,
        "rows_published": published.rows if published else None,  # what BI reads now
        "published": published.version_age() if published else "nothing published",
        "incidents": incidents,
    }
