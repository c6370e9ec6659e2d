"""Gather what the report shows of one lab, read-only (serving copy while a run writes the lab)."""

from __future__ import annotations

import json
from typing import Any

from buildcpg_shared.errors import BuildCPGError, DamagedDatabaseError, is_damage
from buildcpg_shared.inspect.readonly import damaged, open_lab
from buildcpg_shared.quality import store
from buildcpg_shared.registry import Lab
from buildcpg_shared.report.history import test_history


def _last_run(lab: Lab) -> dict[str, Any] | None:
    try:
        return json.loads(lab.paths.last_run_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def collect_lab(lab: Lab, history_limit: int = 30) -> dict[str, Any]:
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
        "last_run": _last_run(lab),
        "note": "",
        "latest": {},
        "history": [],
        "failed_tests": [],
        "quarantine": [],
        "freshness": [],
        "test_history": {"runs": [], "tests": []},
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
    except Exception as err:
        if reader.source == "database" and is_damage(err):  # a damaged block found while reading
            raise damaged(lab, err) from err
        raise
    finally:
        reader.close()
