"""The Airflow DAG factory, offline: `dag.test()` on two real labs (real venv, dbt, DuckDB), one failing.

The failing lab's task fails, its on_failure_callback sends exactly one alert through the workspace's
alert routes (a JSON-lines log route here), and the other lab's task succeeds. Never
`dag.test(use_executor=True)`: it hangs (PITFALLS.md).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from buildcpg_shared.testing import clone_lab
from conftest import WORKSPACE

LAB = "lab1_sales_performance"


def _load_factory() -> ModuleType:
    spec = importlib.util.spec_from_file_location("airflow_dags", WORKSPACE / "tools" / "airflow_dags.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def two_labs() -> Path:
    """lab 1 synced, lab2_broken (a clone with a model on a missing column), a log route, Airflow's DB."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["UV"] = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    sync = subprocess.run(
        [sys.executable, "-m", "buildcpg_shared.cli", "sync", LAB],
        cwd=WORKSPACE,
        env=env,
        capture_output=True,
        text=True,
    )
    assert sync.returncode == 0, sync.stdout + sync.stderr
    broken = clone_lab(WORKSPACE / "labs" / LAB, "lab2_broken")
    (broken / "dbt" / "models" / "marts" / "zz_broken.sql").write_text("select nope from {{ ref('int_sales') }}\n")
    (WORKSPACE / "buildcpg.yaml").write_text("alerts:\n  routes:\n    - {type: log, path: .buildcpg/airflow.jsonl}\n")
    migrate = subprocess.run(["airflow", "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-2000:]
    return WORKSPACE


def test_dags_come_from_the_registry(two_labs: Path) -> None:
    dags = _load_factory().build_dags()
    assert list(dags) == ["buildcpg_labs"]  # no lab has its own schedule in this copy
    dag = dags["buildcpg_labs"]
    assert sorted(dag.task_ids) == ["lab1_sales_performance", "lab2_broken"]
    assert all(not dag.get_task(t).upstream_task_ids for t in dag.task_ids)  # labs in parallel
    assert dag.schedule == "0 0 * * *"

    lab_yaml = two_labs / "labs" / "lab2_broken" / "lab.yaml"
    original = lab_yaml.read_text()
    lab_yaml.write_text(original + 'schedule: "30 5 * * *"\n')
    try:
        own = _load_factory().build_dags()["buildcpg_lab2_broken"]
    finally:
        lab_yaml.write_text(original)
    assert own.task_ids == ["lab2_broken"] and own.schedule == "30 5 * * *"


def test_dag_test_one_lab_fails_one_alert_other_completes(two_labs: Path) -> None:
    dag = _load_factory().build_dags()["buildcpg_labs"]
    run = dag.test()
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert states == {LAB: "success", "lab2_broken": "failed"}, states
    alerts = [json.loads(x) for x in (two_labs / ".buildcpg" / "airflow.jsonl").read_text().splitlines()]
    assert [(a["lab"], a["kind"], a["state"]) for a in alerts] == [("lab2_broken", "failed", "open")]
    assert "transform" in alerts[0]["message"]
    runs = subprocess.run(
        [sys.executable, "-m", "buildcpg_shared.cli", "runs", "--json"],
        cwd=two_labs,
        capture_output=True,
        text=True,
    )
    recorded = {r["lab"]: r["status"] for r in json.loads(runs.stdout)}
    assert recorded["lab2_broken"] == "failed" and recorded[LAB] in ("ok", "warn")
