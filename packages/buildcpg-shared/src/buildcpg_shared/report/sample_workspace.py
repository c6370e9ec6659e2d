"""A workspace whose report has something to show, written directly (no dbt, no venvs): 6 recorded runs of
three labs, a test failing for the last two runs (its rows stored by dbt's ``store_failures``) and one failing
through its compiled SQL, a model that got slow, an upstream lab that failed with a very long reason, a
downstream lab skipped because of it, a monitored column whose mean jumps in the last run, and an adopted-like
lab whose score has most parts n/a. Used by the report's tests and tools/bench/bench_report.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import yaml

from buildcpg_shared.history import History
from buildcpg_shared.quality import monitors, store
from buildcpg_shared.quality.run_times import kept_file_name
from buildcpg_shared.registry import Workspace
from buildcpg_shared.registry.paths import LabPaths
from buildcpg_shared.run_record import LabRunRecord, Status, StepRecord

UPSTREAM, DOWNSTREAM, ADOPTED = "lab1_upstream", "lab2_downstream", "lab3_adopted"
RUNS = 6
LONG_TEST = "accepted_values_orders_status__" + "__".join(f"state_number_{i}_of_many" for i in range(14))
# a test on several models: dbt's models joined by "," with no space (a relationships test, say)
LONG_MODELS = ",".join(f"silver.int_sales_lines_checked_part_{i}" for i in range(6))
FAILING_STORED = "not_null_orders_customer_id"  # failing in the last two runs; rows in dbt_test__audit
FAILING_COMPILED = "positive_orders_amount"  # failing in the last run; rows from its compiled SQL
SLOW_MODEL = "fct_orders"  # its time jumps in the upstream lab's last run
LONG_WORD = "_".join(f"generated_column_name_part_{i}" for i in range(8))  # no space to wrap at: 230 chars
LONG_REASON = f"transform failed: fct_orders (models/marts/fct_orders.sql): Binder Error: {LONG_WORD} " + " ".join(
    f"Referenced column customer_identifier_{i} not found in FROM clause" for i in range(12)
)
MONITORED = "gold.orders.amount"


def monitored_mean(i: int) -> float:
    """The monitored column's mean in run ``i``: about 10 (10.0, 10.2, 9.9, 10.1, ...), then 55 in the last run."""
    return 55.0 if i == RUNS - 1 else (10.0, 10.2, 9.9, 10.1)[i % 4]


START = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def run_at(i: int) -> datetime:
    """When run ``i`` (0-based) of every lab started: one a day."""
    return START + timedelta(days=i)


def _lab_yaml(name: str, reads: str | None, chart: bool) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": name,
        "title": f"{name} title",
        "sources": {"items": {"files": "items*.csv", "columns": {"id": "INTEGER"}}},
    }
    if reads:
        config["inputs"] = {f"from_{reads}": {"lab": reads, "table": "gold.orders"}}
    if name == UPSTREAM:  # a monitored column whose mean jumps in the last run
        config["monitors"] = {"columns": [MONITORED], "min_runs": 3}
    if chart:  # two series as horizontal bars: the case that once drew no legend
        config["report"] = {
            "charts": [
                {
                    "title": "Amount now and before, per customer",
                    "table": "gold.orders_by_customer",
                    "mark": "bar",
                    "horizontal": True,
                    "x": "customer_id",
                    "y": ["amount_recent", "amount_prior"],
                }
            ]
        }
    return config


def _parts(all_measured: bool) -> str:
    names = ("tests", "validity", "completeness", "uniqueness", "freshness", "volume")
    parts = [
        {
            "name": n,
            "weight": 1.0,
            "value": 1.0 if (all_measured or n == "tests") else None,
            "detail": "",
            "flagged": False,
        }
        for n in names
    ]
    return json.dumps(parts)


def _tests(lab: str, i: int) -> list[tuple[str, str, str, str | None, int]]:
    """(unique_id, name, model, status, failures) of run ``i``."""
    out = [
        (f"test.{lab}.{LONG_TEST}", LONG_TEST, LONG_MODELS, "pass", 0),
        (f"test.{lab}.unique_orders_order_id", "unique_orders_order_id", "orders", "pass", 0),
    ]
    if lab == UPSTREAM:
        stored = "fail" if i >= RUNS - 2 else "pass"
        compiled = "fail" if i == RUNS - 1 else "pass"
        out += [
            (f"test.{lab}.{FAILING_STORED}", FAILING_STORED, "orders", stored, 3 if stored == "fail" else 0),
            (f"test.{lab}.{FAILING_COMPILED}", FAILING_COMPILED, "orders", compiled, 7 if compiled == "fail" else 0),
        ]
    if lab == DOWNSTREAM and i == 2:
        out.append((f"test.{lab}.warned_once", "warned_once", "orders", "warn", 1))
    return out


def _run_results(lab: str, i: int) -> dict[str, Any]:
    """dbt's run_results.json of the build of run ``i``: model times (one model slowing down) and tests."""
    results: list[dict[str, Any]] = []
    for model, seconds in (("stg_orders", 0.4), (SLOW_MODEL, 1.0), ("dim_customers", 0.6)):
        if model == SLOW_MODEL and i == RUNS - 1 and lab == UPSTREAM:
            seconds = 3.5  # 3.5x its median: flagged
        results.append({"unique_id": f"model.{lab}.{model}", "status": "success", "execution_time": seconds + i * 0.01})
    for uid, _name, _model, status, failures in _tests(lab, i):
        result: dict[str, Any] = {"unique_id": uid, "status": status, "execution_time": 0.05, "failures": failures}
        if uid.endswith(FAILING_STORED):
            result["relation_name"] = f'"{lab}"."dbt_test__audit"."{FAILING_STORED}"'
            result["compiled_code"] = f'select * from "{lab}"."gold"."orders" where customer_id is null'
        elif uid.endswith(FAILING_COMPILED):
            result["compiled_code"] = f'select order_id, amount from "{lab}"."gold"."orders" where amount <= 0'
        results.append(result)
    return {"metadata": {"generated_at": run_at(i).isoformat()}, "results": results}


SEED = "country_codes"


def _manifest(lab: str) -> dict[str, Any]:
    """A seed, a staging model and two marts; the adopted lab keeps its models outside dbt's layer folders."""
    nodes: dict[str, Any] = {
        f"seed.{lab}.{SEED}": {"resource_type": "seed", "name": SEED, "original_file_path": f"seeds/{SEED}.csv"}
    }
    for model, folder in (("stg_orders", "staging"), (SLOW_MODEL, "marts"), ("dim_customers", "marts")):
        path = f"models/{model}.sql" if lab == ADOPTED else f"models/{folder}/{model}.sql"
        nodes[f"model.{lab}.{model}"] = {"resource_type": "model", "name": model, "original_file_path": path}
    for uid, name, _model, _status, _f in _tests(lab, RUNS - 1):
        tested = SLOW_MODEL if name in (FAILING_STORED, FAILING_COMPILED) else "dim_customers"
        nodes[uid] = {
            "resource_type": "test",
            "name": name,
            "original_file_path": f"tests/{name}.sql",
            "attached_node": f"model.{lab}.{tested}",
        }
    parent_map = {
        f"model.{lab}.stg_orders": [f"seed.{lab}.{SEED}"],
        f"model.{lab}.{SLOW_MODEL}": [f"model.{lab}.stg_orders"],
        f"model.{lab}.dim_customers": [f"model.{lab}.{SLOW_MODEL}"],
    }
    return {"nodes": nodes, "sources": {}, "parent_map": parent_map}


def _lab_database(path: Path, lab: str, adopted: bool) -> None:
    con = duckdb.connect(str(path))
    try:
        store.ensure_tables(con)
        con.execute("create schema gold")
        con.execute(
            "create table gold.orders as select range as order_id, "
            "case when range % 4 = 0 then null else 'c' || (range % 3) end as customer_id, "
            "case when range % 5 = 0 then -range else range end as amount from range(40)"
        )
        con.execute("create schema dbt_test__audit")
        con.execute(
            f"create table dbt_test__audit.{FAILING_STORED} as select * from gold.orders where customer_id is null"
        )
        for i in range(RUNS):
            run_id = f"{lab}-r{i + 1}"
            at = run_at(i).replace(tzinfo=None) + timedelta(minutes=5)
            rows = [
                (run_id, at, "test", uid, name, "generic", model, None, status, failures, "")
                for uid, name, model, status, failures in _tests(lab, i)
            ]
            marks = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows))
            con.execute(f"insert into {store.TEST_RESULTS} values {marks}", [v for r in rows for v in r])
            if lab == UPSTREAM:
                monitors.ensure_table(con)
                con.execute(
                    f"insert into {monitors.COLUMN_PROFILES} values (?, ?, ?, 'mean', ?), (?, ?, ?, 'null_rate', 0)",
                    [run_id, at, MONITORED, monitored_mean(i), run_id, at, MONITORED],
                )
            con.execute(
                f"insert into {store.QUALITY_HISTORY} values (?, ?, 'lab', ?, 80, true, 40, ?, '')",
                [run_id, at, 100.0 if adopted else 90.0 + i, _parts(not adopted)],
            )
    finally:
        con.close()


def _serving_copy(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema gold")
        con.execute(
            "create table gold.orders_by_customer as select 'c' || range as customer_id, "
            "range * 10.0 as amount_recent, range * 8.0 as amount_prior from range(5)"
        )
    finally:
        con.close()


def build_report_workspace(root: Path, more_labs: int = 0) -> Workspace:
    """Write the workspace under ``root`` and return it (history in ``.buildcpg/history.sqlite``); ``more_labs``
    adds labs like the adopted one (the benchmark's 4th lab). ``RUNS`` (module level) sets the runs recorded."""
    (root / "labs").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = ["labs/*"]\n')
    workspace = Workspace(root)
    workspace.state_dir.mkdir()
    history = History.for_state_dir(workspace.state_dir)
    specs = [(UPSTREAM, None, True), (DOWNSTREAM, UPSTREAM, False), (ADOPTED, None, False)]
    specs += [(f"lab{4 + i}_more", None, False) for i in range(more_labs)]
    for name, reads, chart in specs:
        lab = root / "labs" / name
        (lab / "data" / "raw").mkdir(parents=True)
        (lab / "lab.yaml").write_text(yaml.safe_dump(_lab_yaml(name, reads, chart)))
        _lab_database(lab / "data" / f"{name}.duckdb", name, adopted=name == ADOPTED)
        if chart:
            _serving_copy(lab / "data" / "serving" / f"{name}.duckdb")
        target = lab / "dbt" / "target"
        target.mkdir(parents=True)
        (target / "manifest.json").write_text(json.dumps(_manifest(name)))
        kept = LabPaths.for_dir(lab).run_results_dir
        kept.mkdir(parents=True)
        for i in range(RUNS):
            text = json.dumps(_run_results(name, i))
            (kept / kept_file_name(f"{name}-r{i + 1}", run_at(i))).write_text(text)
            if i == RUNS - 1:
                (target / "run_results.build.json").write_text(text)
    for i in range(RUNS):
        started = run_at(i)
        run_id = history.start_run("run --all", len(specs), started_at=started.isoformat())
        for name, _reads, _chart in specs:
            status, error = Status.OK, ""
            if i == RUNS - 1 and name == UPSTREAM:
                status, error = Status.FAILED, LONG_REASON
            elif i == RUNS - 1 and name == DOWNSTREAM:
                status, error = Status.SKIPPED, f"skipped (upstream failed): {UPSTREAM} (failed)"
            steps = (StepRecord("transform", status, 2.0, detail=error),) if status == Status.FAILED else ()
            finished = started + timedelta(minutes=5)
            record = LabRunRecord(
                name, status, started.isoformat(), finished.isoformat(), 300.0, error, f"{name}-r{i + 1}", steps=steps
            )
            history.record_lab(run_id, record)
        history.finish_run(run_id, len(specs), 0, 300.0)
    return workspace
