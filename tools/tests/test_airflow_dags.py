"""The Airflow DAG factory, offline: `dag.test()` on two real labs (real venv, dbt, DuckDB), one failing.

The failing lab's task fails, its run (through the run service, in the lab process) sends exactly one
alert through the workspace's alert routes (a JSON-lines log route here), and the other lab's task
succeeds; both runs are in the history with their real times and quality. Never
`dag.test(use_executor=True)`: it hangs (PITFALLS.md).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
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
    assert dag.max_active_runs == 1

    lab_yaml = two_labs / "labs" / "lab2_broken" / "lab.yaml"
    original = lab_yaml.read_text()
    lab_yaml.write_text(original + 'schedule: "30 5 * * *"\n')
    try:
        own = _load_factory().build_dags()["buildcpg_lab2_broken"]
    finally:
        lab_yaml.write_text(original)
    assert own.task_ids == ["lab2_broken"] and own.schedule == "30 5 * * *" and own.max_active_runs == 1
    assert own.get_task("lab2_broken").pool == dag.get_task("lab2_broken").pool  # one slot for both DAGs

    lab_yaml.write_text("name: lab2_broken\nsources: [this is not a mapping\n")  # invalid YAML
    try:
        dags = _load_factory().build_dags()  # one broken lab.yaml never stops the DAG file loading
    finally:
        lab_yaml.write_text(original)
    assert sorted(dags["buildcpg_labs"].task_ids) == ["lab1_sales_performance", "lab2_broken"]


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
    rows = json.loads(runs.stdout)
    assert sorted(r["lab"] for r in rows) == [LAB, "lab2_broken"]  # each task's run recorded once
    recorded = {r["lab"]: r for r in rows}
    assert recorded["lab2_broken"]["status"] == "failed" and recorded[LAB]["status"] in ("ok", "warn")
    assert all(r["duration_s"] > 0 and len(r["steps"]) == 6 for r in rows), rows
    assert recorded[LAB]["quality"] is not None  # the real record: quality incidents can open from Airflow
    for lab, row in recorded.items():  # the lab's own times, as in its last_run.json
        last = json.loads((two_labs / "labs" / lab / "data" / "last_run.json").read_text())
        assert (row["started_at"], row["duration_s"]) == (last["started_at"], last["duration_s"])


def test_task_retries_come_from_lab_yaml(two_labs: Path) -> None:
    dag = _load_factory().build_dags()["buildcpg_labs"]
    assert dag.get_task(LAB).retries == 0  # the default
    lab_yaml = two_labs / "labs" / "lab2_broken" / "lab.yaml"
    original = lab_yaml.read_text()
    lab_yaml.write_text(original + "retries: 2\nretry_delay_s: 7\n")
    try:
        task = _load_factory().build_dags()["buildcpg_labs"].get_task("lab2_broken")
    finally:
        lab_yaml.write_text(original)
    assert task.retries == 2 and task.retry_delay == timedelta(seconds=7)


def test_a_reader_waits_for_its_upstream_and_is_not_run_when_it_fails(two_labs: Path) -> None:
    """lab3_reader reads lab2_broken's gold: the DAG wires lab2_broken >> lab3_reader (same graph as
    `buildcpg run --all`), and when lab2_broken fails the reader is upstream_failed, never run."""
    reader = clone_lab(two_labs / "labs" / LAB, "lab3_reader")
    lab_yaml = reader / "lab.yaml"
    lab_yaml.write_text(
        lab_yaml.read_text() + "inputs:\n  upstream_skus:\n    lab: lab2_broken\n    table: gold.sku_performance\n"
    )
    try:
        dag = _load_factory().build_dags()["buildcpg_labs"]
        assert dag.get_task("lab3_reader").upstream_task_ids == {"lab2_broken"}
        assert not dag.get_task(LAB).upstream_task_ids  # independent labs stay parallel
        run = dag.test()
        states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    finally:
        shutil.rmtree(reader)
    assert states == {LAB: "success", "lab2_broken": "failed", "lab3_reader": "upstream_failed"}, states
    assert not (reader / "data" / "last_run.json").exists()  # the reader's lab process never started


def test_queue_and_one_pool_slot_per_lab(two_labs: Path) -> None:
    """Each lab's task takes the one slot of its own pool (never two runs of a lab at once); a lab with
    `queue:` in lab.yaml goes to that queue, the others to Airflow's default queue."""
    factory = _load_factory()
    dag = factory.build_dags()["buildcpg_labs"]
    pools = {t: (dag.get_task(t).pool, dag.get_task(t).pool_slots) for t in dag.task_ids}
    assert pools == {LAB: (f"buildcpg_{LAB}", 1), "lab2_broken": ("buildcpg_lab2_broken", 1)}
    assert dag.get_task(LAB).queue == "default"
    specs = factory.pool_specs()
    assert {name: spec["slots"] for name, spec in specs.items()} == {f"buildcpg_{LAB}": 1, "buildcpg_lab2_broken": 1}
    printed = subprocess.run(
        [sys.executable, str(two_labs / "tools" / "airflow_dags.py"), "pools"], capture_output=True, text=True
    )
    assert json.loads(printed.stdout) == specs, printed.stderr[-2000:]  # what `airflow pools import` reads

    lab_yaml = two_labs / "labs" / "lab2_broken" / "lab.yaml"
    original = lab_yaml.read_text()
    lab_yaml.write_text(original + "queue: big-mem\n")
    try:
        dag = _load_factory().build_dags()["buildcpg_labs"]
    finally:
        lab_yaml.write_text(original)
    assert (dag.get_task("lab2_broken").queue, dag.get_task(LAB).queue) == ("big-mem", "default")


def test_a_task_syncs_a_stale_lab_venv_first(two_labs: Path) -> None:
    """A venv synced from another uv.lock is synced again by the task before the lab runs (the same
    check as `buildcpg run`); a current one is left alone (no uv call)."""
    marker = two_labs / "labs" / LAB / ".venv" / ".buildcpg-synced"
    current = marker.read_text()
    marker.write_text("0" * 64 + "\n")  # as if synced from an older lock
    factory = _load_factory()
    result = factory.run_lab(LAB)
    assert result["status"] in ("ok", "warn") and marker.read_text() == current
    before = marker.stat().st_mtime_ns
    factory.run_lab(LAB)
    assert marker.stat().st_mtime_ns == before  # nothing changed: not synced again
