"""The Airflow DAG factory: the lab registry as Airflow DAGs (drop this file into Airflow's dags folder).

- ``buildcpg_labs``: every lab, daily at 00:00, one task per lab (in parallel), each running the lab
  runner in the lab's own venv as a subprocess (``labs/<lab>/.venv/bin/python -m
  buildcpg_shared.pipeline.cli run``), exactly as ``buildcpg run`` does.
- ``buildcpg_<lab>``: one more DAG per lab that has its own ``schedule:`` in lab.yaml.

Each run is recorded in the workspace's ``.buildcpg/history.sqlite``; ``on_failure_callback`` and
``on_success_callback`` open and close incidents through the same alert routes as ``buildcpg run``
(buildcpg.yaml and lab.yaml), so a lab that keeps failing alerts once and recovers once.

The workspace is ``$BUILDCPG_WORKSPACE``, else the folder above this file. Airflow workers need the
workspace at the same path (a shared volume or an image with the repo and ``make sync`` done): see
docs/airflow.md.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task
from airflow.sdk.exceptions import AirflowException
from buildcpg_shared.alerts import AlertDispatcher
from buildcpg_shared.orchestrate.history import History, LabRunRecord, now_iso
from buildcpg_shared.orchestrate.parallel import lab_timeout, new_progress, run_one
from buildcpg_shared.registry import Lab, Workspace
from buildcpg_shared.registry.workspace import WORKSPACE_ENV

DAILY = "0 0 * * *"
START = datetime(2026, 1, 1)


def _workspace() -> Workspace:
    override = os.environ.get(WORKSPACE_ENV)
    return Workspace(Path(override).resolve()) if override else Workspace.find(Path(__file__).resolve().parent)


def _alert(context: dict[str, Any], status: str) -> None:
    """Open (failed) or close (success) the lab's incident through the configured routes."""
    workspace = _workspace()
    lab = workspace.lab(context["task_instance"].task_id)
    error = str(context.get("exception") or "") if status == "failed" else ""
    at = now_iso()
    record = LabRunRecord(lab.name, status, at, at, 0.0, error=error or ("" if status != "failed" else "task failed"))
    dispatcher = AlertDispatcher(workspace, History.for_state_dir(workspace.state_dir))
    for delivery in dispatcher.on_lab_result(lab, record):
        print(f"alert {delivery.alert.subject} → {delivery.route}: {'sent' if delivery.ok else delivery.error}")


def on_failure(context: dict[str, Any]) -> None:
    _alert(context, "failed")


def on_success(context: dict[str, Any]) -> None:
    _alert(context, "ok")


def run_lab(lab_name: str, steps: str = "", timeout: float | None = None) -> dict[str, Any]:
    """Run one lab in its own venv; record it in the history; raise if it did not pass."""
    workspace = _workspace()
    lab: Lab = workspace.lab(lab_name)
    options = ["--steps", steps] if steps else []
    progress = new_progress([lab])[lab.name]
    run_one(workspace, lab, options, progress, timeout=lab_timeout(lab, timeout), on_change=lambda: None)
    history = History.for_state_dir(workspace.state_dir)
    run_id = history.start_run(f"airflow {lab.name}", 1)
    history.record_lab(run_id, progress.record())
    history.finish_run(run_id, int(progress.ok), int(not progress.ok), progress.elapsed)
    if not progress.ok:
        raise AirflowException(f"{lab.name}: {progress.error} (log: {progress.log})")
    return {"lab": lab.name, "status": progress.state, "duration_s": round(progress.elapsed, 3)}


def _lab_task(lab: Lab, steps: str, timeout: float | None) -> Any:
    @task(task_id=lab.name, on_failure_callback=on_failure, on_success_callback=on_success, retries=0)
    def run() -> dict[str, Any]:
        return run_lab(lab.name, steps, timeout)

    return run()


def build_dags(workspace: Workspace | None = None, *, steps: str = "", timeout: float | None = None) -> dict[str, DAG]:
    """``buildcpg_labs`` (all labs, daily at 00:00) plus ``buildcpg_<lab>`` for each lab with a schedule."""
    workspace = workspace or _workspace()
    labs = workspace.labs()
    dags: dict[str, DAG] = {}
    with DAG("buildcpg_labs", schedule=DAILY, start_date=START, catchup=False, tags=["buildcpg"]) as dag:
        for lab in labs:
            _lab_task(lab, steps, timeout)  # no dependencies: labs run in parallel
    dags[dag.dag_id] = dag
    for lab in labs:
        if lab.config.schedule:
            with DAG(f"buildcpg_{lab.name}", schedule=lab.config.schedule, start_date=START, catchup=False) as one:
                _lab_task(lab, steps, timeout)
            dags[one.dag_id] = one
    return dags


globals().update(build_dags())  # Airflow finds DAG objects among the module's globals
