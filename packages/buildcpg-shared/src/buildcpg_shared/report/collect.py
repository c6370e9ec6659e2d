"""Gather what the report shows of one lab, read-only (serving copy while a run writes the lab)."""

from __future__ import annotations

import json
from typing import Any

from buildcpg_shared.errors import BuildCPGError, DamagedDatabaseError, is_damage
from buildcpg_shared.inspect.readonly import damaged, open_lab
from buildcpg_shared.quality import store
from buildcpg_shared.registry import Lab
from buildcpg_shared.report.failing_rows import failing_rows
from buildcpg_shared.report.history import FAILED, test_history
from buildcpg_shared.report.monitors import monitor_view
from buildcpg_shared.run_record import LabRunRecord
from buildcpg_shared.serving.version import published_version


def _last_run(lab: Lab) -> LabRunRecord | None:
    """The lab's own record of its last run (``data/last_run.json``), typed; None when missing or unreadable."""
    try:
        run = json.loads(lab.paths.last_run_file.read_text(encoding="utf-8"))
        return LabRunRecord.from_steps(
            lab.name,
            run["status"],
            started_at=run["started_at"],
            finished_at=run.get("finished_at") or run["started_at"],
            duration_s=float(run.get("duration_s") or 0.0),
            error=str(run.get("error") or ""),
            lab_run_id=str(run.get("run_id") or ""),
            steps=run.get("steps") or (),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def last_run(lab: Lab, recorded: LabRunRecord | None) -> LabRunRecord | None:
    """The lab's last run as the truth has it: the history's record (``recorded``: it also holds the
    runs the lab process never started, skipped because an upstream failed, or killed) unless the
    lab's own ``last_run.json`` is newer (a run outside any workspace history)."""
    own = _last_run(lab)
    if recorded is None or (own is not None and own.started_at > recorded.started_at):
        return own
    return recorded


def collect_lab(lab: Lab, history_limit: int = 30, recorded: LabRunRecord | None = None) -> dict[str, Any]:
    """Last run, quality (with parts), score history, failed tests, test history, quarantine, freshness."""
    try:
        title = lab.config.title
    except BuildCPGError as err:  # one broken lab.yaml must not stop the report of every lab
        title, broken = "", f"broken lab.yaml: {err}"
    else:
        broken = ""
    data: dict[str, Any] = {
        "name": lab.name,
        "title": title,
        "last_run": last_run(lab, recorded),
        "published": published_version(lab.paths.serving_file),
        "note": "",
        "latest": {},
        "history": [],
        "failed_tests": [],
        "quarantine": [],
        "freshness": [],
        "test_history": {"runs": [], "runs_at": [], "tests": []},
        "failing_rows": {},
        "monitors": None,
        "broken": bool(broken),
        "damaged": False,
    }
    if broken:
        data["note"] = broken
        return data
    try:
        _read_lab(lab, data, history_limit)
    except DamagedDatabaseError as err:  # shown as a failed lab with that reason; the other labs render
        data["note"] = str(err)
        data["damaged"] = True
    except BuildCPGError as err:
        data["note"] = str(err)
    return data


def _read_lab(lab: Lab, data: dict[str, Any], history_limit: int) -> None:
    """Fill ``data`` from the lab database (or the serving copy while a run writes it)."""
    reader = open_lab(lab)
    try:
        data["note"] = reader.note
        data["latest"] = store.latest(reader.con)
        data["history"] = store.history(reader.con, limit=history_limit)
        data["failed_tests"] = store.failed_tests(reader.con)
        data["quarantine"] = store.quarantine_by_reason(reader.con)
        data["freshness"] = store.freshness(reader.con)
        data["test_history"] = test_history(reader.con)
        data["monitors"] = monitor_view(reader.con, lab.config.monitors)
        failing = [t["unique_id"] for t in data["test_history"]["tests"] if t["statuses"][-1] in FAILED]
        if reader.source == "database":
            data["failing_rows"] = failing_rows(reader.con, lab.paths.dbt_dir / "target", failing)
        else:  # the serving copy holds gold only
            why = "failing rows not read: a run is writing the lab (read from its serving copy)"
            data["failing_rows"] = {uid: {"columns": [], "rows": [], "source": "", "error": why} for uid in failing}
    except Exception as err:
        if reader.source == "database" and is_damage(err):  # a damaged block found while reading
            raise damaged(lab, err) from err
        raise
    finally:
        reader.close()
