"""The Airflow DAG factory: the lab registry as Airflow DAGs (drop this file into Airflow's dags folder).

- ``buildcpg_labs``: every lab, daily at 00:00, one task per lab, each running the lab runner in the
  lab's own venv as a subprocess (``labs/<lab>/.venv/bin/python -m buildcpg_shared.cli.lab run``),
  exactly as ``buildcpg run`` does. Labs run in parallel, except that a lab reading another lab's
  published gold (lab.yaml ``inputs``) waits for that lab's task: the same graph as ``buildcpg run
  --all`` (orchestrate/graph.py). A failed upstream leaves its readers ``upstream_failed`` (not run
  on stale data), Airflow's default trigger rule.
- ``buildcpg_<lab>``: one more DAG per lab that has its own ``schedule:`` in lab.yaml.

Every DAG has ``max_active_runs=1``. Every task of a lab (in ``buildcpg_labs`` and in its own DAG)
takes the one slot of the lab's pool ``buildcpg_<lab>`` (create the pools once: ``python
tools/airflow_dags.py pools > pools.json && airflow pools import pools.json``), so the scheduler never
starts a lab twice; the lease of the shared state (issue 23) refuses a second run anywhere else. A lab
with ``queue:`` in lab.yaml goes to that Celery queue (workers started with ``-q <queue>``), the
others to ``default``.

A task first syncs the lab's venv from uv.lock when it is missing or was synced from another lock
(the same check as ``buildcpg run``: no uv call when nothing changed), then runs the lab; a worker
needs only a checkout, uv and its environment (``BUILDCPG_STORAGE`` / ``BUILDCPG_STATE`` and the AWS
variables reach the lab process as they are). The worker never imports dbt: the lab runs in its own venv.

Each task goes through the run service like every other way to run a lab (docs/orchestration.md):
the lab process records its run in the workspace's history (``.buildcpg/history.sqlite``, or the
shared state database of ``BUILDCPG_STATE``) with its real start time, duration, steps and quality
score, and opens or closes incidents through the same alert routes as ``buildcpg run`` (buildcpg.yaml
and lab.yaml), so a lab that keeps failing alerts once and recovers once. A task retries as often as
the lab's ``retries`` (lab.yaml) says, ``retry_delay_s`` apart; each attempt is one recorded run.

The workspace is ``$BUILDCPG_WORKSPACE``, else the folder above this file: each worker has its own
checkout (docs/airflow.md, "More than one machine").
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, get_current_context, task
from airflow.sdk.exceptions import AirflowException
from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.orchestrate.graph import lab_graph
from buildcpg_shared.orchestrate.parallel import run_labs
from buildcpg_shared.orchestrate.recorder import RunRecorder
from buildcpg_shared.orchestrate.service import delivery_line
from buildcpg_shared.orchestrate.uv import sync_stale
from buildcpg_shared.registry import Lab, Workspace
from buildcpg_shared.registry.workspace import WORKSPACE_ENV
from buildcpg_shared.run_record import RunOptions

DAILY = "0 0 * * *"
START = datetime(2026, 1, 1)


def _workspace() -> Workspace:
    override = os.environ.get(WORKSPACE_ENV)
    return Workspace(Path(override).resolve()) if override else Workspace.find(Path(__file__).resolve().parent)


def run_lab(lab_name: str, steps: str = "", timeout: float | None = None, attempt: str = "") -> dict[str, Any]:
    """Run one lab in its own venv through the run service (recorded, alerts); raise if it did not pass.

    ``attempt`` (the DAG run and try number) is kept in the platform run's command, so the history
    shows an attempt whose worker died (started, never finished) beside the retry that ran the lab."""
    workspace = _workspace()
    lab: Lab = workspace.lab(lab_name)
    options = RunOptions(steps=RunOptions.parse_steps(steps)) if steps else RunOptions()
    unready = sync_stale(workspace, [lab], print)  # missing or stale venv: synced; cannot be: its one line
    recorder = RunRecorder(workspace, f"airflow {lab.name}" + (f" ({attempt})" if attempt else ""), [lab.name])
    progress = run_labs(workspace, [lab], options, jobs=1, timeout=timeout, run_id=recorder.run_id, unready=unready)
    recorder.finish(progress, check_stale=False)
    for delivery in recorder.deliveries:
        print(delivery_line(delivery))
    result = progress[lab.name]
    if not result.ok:
        where = f" (log: {result.log})" if result.log else ""  # a lab that never started has no log
        raise AirflowException(f"{lab.name}: {result.error}{where}")
    return {"lab": lab.name, "status": result.state, "duration_s": round(result.duration, 3), "quality": result.quality}


def task_retries(lab: Lab) -> dict[str, Any]:
    """The task's ``retries`` and ``retry_delay`` from lab.yaml (none for a broken lab.yaml: its run says why)."""
    try:
        config = lab.config
    except BuildCPGError:
        return {"retries": 0}
    return {"retries": config.retries, "retry_delay": timedelta(seconds=config.retry_delay_s)}


def lab_pool(lab: Lab) -> str:
    """The lab's pool: one slot, taken by every task of the lab in every DAG."""
    return f"buildcpg_{lab.name}"


def pool_specs(workspace: Workspace | None = None) -> dict[str, dict[str, Any]]:
    """Every lab's pool as ``airflow pools import`` reads it: one slot each."""
    workspace = workspace or _workspace()
    return {
        lab_pool(lab): {"slots": 1, "description": f"one run of {lab.name} at a time", "include_deferred": False}
        for lab in workspace.labs()
    }


def task_routing(lab: Lab) -> dict[str, Any]:
    """The task's ``pool`` (one slot per lab) and ``queue`` (lab.yaml ``queue:``; none: Airflow's default)."""
    routing: dict[str, Any] = {"pool": lab_pool(lab), "pool_slots": 1}
    try:
        queue = lab.config.queue
    except BuildCPGError:
        queue = None
    if queue:
        routing["queue"] = queue
    return routing


def _lab_task(lab: Lab, steps: str, timeout: float | None) -> Any:
    @task(task_id=lab.name, **task_retries(lab), **task_routing(lab))
    def run() -> dict[str, Any]:
        ti = get_current_context()["ti"]
        return run_lab(lab.name, steps, timeout, attempt=f"{ti.run_id} try {ti.try_number}")

    return run()


def build_dags(workspace: Workspace | None = None, *, steps: str = "", timeout: float | None = None) -> dict[str, DAG]:
    """``buildcpg_labs`` (all labs, daily at 00:00) plus ``buildcpg_<lab>`` for each lab with a schedule."""
    workspace = workspace or _workspace()
    labs = workspace.labs()
    dags: dict[str, DAG] = {}
    graph = lab_graph(labs)  # an unknown upstream or a cycle: one line, no DAG
    with DAG(
        "buildcpg_labs", schedule=DAILY, start_date=START, catchup=False, max_active_runs=1, tags=["buildcpg"]
    ) as dag:
        tasks = {lab.name: _lab_task(lab, steps, timeout) for lab in labs}
        for name, upstreams in graph.items():
            for upstream in upstreams:
                tasks[upstream] >> tasks[name]  # a lab starts once every lab it reads has published
    dags[dag.dag_id] = dag
    for lab in labs:
        schedule = _own_schedule(lab)
        if schedule:
            with DAG(
                f"buildcpg_{lab.name}", schedule=schedule, start_date=START, catchup=False, max_active_runs=1
            ) as one:
                _lab_task(lab, steps, timeout)
            dags[one.dag_id] = one
    return dags


def _own_schedule(lab: Lab) -> str | None:
    """The lab's own ``schedule:`` (none for a broken lab.yaml: its task in ``buildcpg_labs`` fails
    with the one-line reason, and the other labs' DAGs still load)."""
    try:
        return lab.config.schedule
    except BuildCPGError:
        return None


if __name__ == "__main__" and sys.argv[1:] == ["pools"]:
    print(json.dumps(pool_specs(), indent=2))  # for `airflow pools import`
else:
    globals().update(build_dags())  # Airflow finds DAG objects among the module's globals
