"""Airflow end to end on 127.0.0.1: the real stack, not `dag.test()` (which never uses an executor).

Started here on free ports and stopped afterwards: Airflow's api-server, scheduler and dag-processor
with the CeleryExecutor, PostgreSQL (Airflow's metadata database, Celery's result backend and the
buildcpg state database: history, incidents, the lease), Redis (the broker), moto's S3 server
(published gold), and two Celery workers, `worker-a` and `worker-b`, each on its own workspace copy
(its own ``BUILDCPG_WORKSPACE``, lab venvs synced by the tasks themselves). `worker-b` also listens on
queue ``big``, where lab 3 goes (``queue: big`` in its lab.yaml).

1. ``airflow dags trigger buildcpg_labs``: every lab succeeds, tasks run on both workers, lab 4 starts
   after labs 1–3 and reads the versions they published, and the shared history holds each attempt once.
2. ``airflow dags trigger buildcpg_lab1_sales_performance`` (lab 1 has its own schedule) on a lab 1
   that must build from scratch; the worker running it is SIGKILLed with every process under it (a
   machine gone). The task is retried on the other worker, the published gold equals a clean build,
   the lease is free, and the history shows the dead attempt (started, never finished; `buildcpg runs`
   says it died) and the retry.

Runs under ``CI=true`` (or ``BUILDCPG_AIRFLOW_E2E=1``); needs Debian's ``postgresql`` and ``redis-server``
(under CI a missing one fails the test). Prints the env's time and memory (sum of RSS, peak).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from buildcpg_shared.local_servers import free_port, new_database, postgres_server, s3_server
from buildcpg_shared.testing import (
    copy_workspace,
    did_not_run,
    postgres_bin_or_skip,
    redis_server_or_skip,
    uv_path,
)
from conftest import SOURCE_ROOT

# each test says it did not run (not a module-level skip: pytest would collect nothing and exit 5,
# which fails `make test` on a machine without CI=true)
pytestmark = pytest.mark.skipif(
    os.environ.get("CI", "").lower() != "true" and os.environ.get("BUILDCPG_AIRFLOW_E2E") != "1",
    reason="the Airflow Celery end-to-end env runs under CI=true (or BUILDCPG_AIRFLOW_E2E=1): it starts "
    "Postgres, Redis, S3, Airflow and two workers (7-10 minutes, about 3 GB)",
)

LAB1, LAB2, LAB3, LAB4 = (
    "lab1_sales_performance",
    "lab2_forecast_model",
    "lab3_customer_segmentation",
    "lab4_category_review",
)
WORKERS = ("worker-a", "worker-b")
BIN = Path(sys.executable).parent
T = TypeVar("T")


def _wait(what: str, probe: Callable[[], T | None], timeout: float, every: float = 1.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class Processes:
    """Every process this test starts (own session each), their logs, and a sampler of their memory."""

    logs: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    pg_port: str = ""  # PostgreSQL runs daemonized (pg_ctl): found by its port for the memory sum
    peak_rss: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def tree(self, name: str) -> list[Any]:
        import psutil

        try:
            root = psutil.Process(self.procs[name].pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss(self) -> int:
        """Sum of RSS of this process (moto runs in it) and every started process with its children."""
        import psutil

        total, seen = 0, set()
        for proc in [psutil.Process(), *self._postgres(), *(p for name in self.procs for p in self.tree(name))]:
            if proc.pid in seen:
                continue
            seen.add(proc.pid)
            with suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    def _postgres(self) -> list[Any]:
        import psutil

        for proc in psutil.process_iter(["cmdline"]):
            if self.pg_port and f"-p {self.pg_port}" in " ".join(proc.info["cmdline"] or []):
                try:
                    return [proc, *proc.children(recursive=True)]
                except psutil.Error:
                    return []
        return []

    def sample(self) -> None:
        def loop() -> None:
            while not self._stop.wait(1.0):
                self.peak_rss = max(self.peak_rss, self.rss())

        threading.Thread(target=loop, daemon=True).start()

    def kill_tree(self, name: str) -> None:
        """SIGKILL a process and everything under it at once: the machine it stands for is gone."""
        for proc in self.tree(name):
            with suppress(Exception):
                proc.send_signal(signal.SIGKILL)
        self.procs[name].wait(timeout=30)

    def stop_all(self) -> None:
        self._stop.set()
        for name in list(self.procs):
            if self.procs[name].poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(self.procs[name].pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for name in list(self.procs):
            try:
                self.procs[name].wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.kill_tree(name)
        for name in list(self.procs):  # children left behind (a task's lab process)
            for proc in self.tree(name):
                with suppress(Exception):
                    proc.kill()

    def tail(self, name: str, chars: int = 3000) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-chars:]


@dataclass
class Env:
    """The running stack: where each piece is and how to ask it things."""

    base: Path
    processes: Processes
    airflow_env: dict[str, str]
    metadata_url: str
    state_url: str
    s3: dict[str, str]
    workspaces: dict[str, Path]
    clean_lab1: subprocess.Popen[str]
    started: float
    ready_s: float = 0.0

    def airflow(self, *args: str, timeout: float = 180) -> str:
        done = subprocess.run(
            [str(BIN / "airflow"), *args], env=self.airflow_env, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"airflow {' '.join(args)}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
        return done.stdout

    def meta(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.metadata_url) as con:
            return con.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def state(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.state_url) as con:
            return con.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def _s3(self) -> tuple[Any, str, str]:
        """(a boto3 client of the stack's S3, the bucket, the storage prefix)."""
        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=self.s3["AWS_ENDPOINT_URL"],
            aws_access_key_id=self.s3["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.s3["AWS_SECRET_ACCESS_KEY"],
            region_name="us-east-1",
        )
        bucket, prefix = self.s3["BUILDCPG_STORAGE"].removeprefix("s3://").split("/", 1)
        return s3, bucket, prefix

    def current_version(self, lab: str) -> int:
        s3, bucket, prefix = self._s3()
        body = s3.get_object(Bucket=bucket, Key=f"{prefix}/serving/{lab}/CURRENT.json")["Body"].read()
        return int(json.loads(body)["version"])

    def forget_lab_state(self, lab: str) -> int:
        """Delete the lab's state snapshots on storage (so a run there restores nothing); how many objects."""
        s3, bucket, prefix = self._s3()
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/state/{lab}/").get("Contents", [])
        for obj in listed:
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
        return len(listed)

    def trigger_and_wait(self, dag_id: str, run_id: str, timeout: float) -> str:
        self.airflow("dags", "trigger", dag_id, "--run-id", run_id)

        def finished() -> str | None:
            rows = self.meta("select state from dag_run where dag_id = %s and run_id = %s", dag_id, run_id)
            return rows[0][0] if rows and rows[0][0] in ("success", "failed") else None

        return _wait(f"DAG run {dag_id} {run_id}", finished, timeout, every=2)

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        rows = self.meta(
            "select task_id, state, hostname, queue, try_number, start_date, end_date from task_instance "
            "where dag_id = %s and run_id = %s",
            dag_id,
            run_id,
        )
        keys = ("state", "hostname", "queue", "try_number", "start_date", "end_date")
        return {r[0]: dict(zip(keys, r[1:], strict=True)) for r in rows}


def _remove_in_background(base: Path) -> None:
    """Delete the temp folder without waiting: three workspace copies with their lab venvs took
    2-3 minutes to delete on a busy machine, longer than the rest of the teardown."""
    subprocess.Popen(["rm", "-rf", str(base)], start_new_session=True)


def _edit_lab_yaml(root: Path, lab: str, extra: str) -> None:
    path = root / "labs" / lab / "lab.yaml"
    path.write_text(path.read_text() + extra)


def _workspace(base: Path, name: str) -> Path:
    """A workspace copy as a fresh checkout has it (no venvs: the tasks sync them), with lab 1 retried
    once (1 s apart) and on its own schedule too, and lab 3 on queue ``big``."""
    root = copy_workspace(SOURCE_ROOT, base / name)
    _edit_lab_yaml(root, LAB1, '\nretries: 1\nretry_delay_s: 1\nschedule: "0 3 * * *"\n')
    _edit_lab_yaml(root, LAB3, "\nqueue: big\n")
    return root


def _hostname_module(base: Path) -> Path:
    """``AIRFLOW__CORE__HOSTNAME_CALLABLE``: each worker says its own name (both share this machine)."""
    folder = base / "pythonpath"
    folder.mkdir()
    (folder / "e2e_hostname.py").write_text(
        "import os, socket\n\n\ndef hostname():\n    return os.environ.get('E2E_WORKER_NAME') or socket.getfqdn()\n"
    )
    return folder


def _clean_build(base: Path) -> subprocess.Popen[str]:
    """Lab 1 built once on a copy of its own with no shared setting: what its gold must equal."""
    root = copy_workspace(SOURCE_ROOT, base / "clean")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BUILDCPG_", "AIRFLOW", "AWS_"))}
    env.pop("VIRTUAL_ENV", None)
    env["UV"] = uv_path()
    return subprocess.Popen(
        [sys.executable, "-m", "buildcpg_shared.cli", "run", LAB1],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def stack() -> Iterator[Env]:
    bindir = postgres_bin_or_skip()
    redis = redis_server_or_skip()
    if not (BIN / "airflow").exists():
        did_not_run(f"no airflow next to {sys.executable}: run this in the airflow-celery tox env")
    started = time.monotonic()
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))  # stopped: still stop every server
    base = Path(tempfile.mkdtemp(prefix="buildcpg-celery-"))
    (base / "logs").mkdir()
    processes = Processes(base / "logs")
    processes.sample()
    stamps: dict[str, float] = {}
    with ExitStack() as stack:
        stack.callback(_remove_in_background, base)
        stack.callback(lambda: stamps.setdefault("stopped", time.monotonic()))
        stack.callback(processes.stop_all)
        admin = stack.enter_context(postgres_server(bindir))
        metadata_url, state_url = new_database(admin), new_database(admin)
        processes.pg_port = admin.rsplit(":", 1)[1].split("/", 1)[0]
        s3 = stack.enter_context(s3_server())
        stack.callback(processes.stop_all)  # Airflow and Redis stop before PostgreSQL and S3
        redis_port, api_port = free_port(), free_port()
        processes.start(
            "redis", [redis, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {}
        )
        workspaces = {"control": _workspace(base, "control")} | {w: _workspace(base, w) for w in WORKERS}
        clean = _clean_build(base)
        stack.callback(lambda: clean.poll() is None and clean.kill())
        meta_sa = metadata_url.replace("postgresql://", "postgresql+psycopg://")
        common = {k: v for k, v in os.environ.items() if not k.startswith(("BUILDCPG_", "AIRFLOW"))}
        common.pop("VIRTUAL_ENV", None)
        common.update(
            s3,
            BUILDCPG_STATE=state_url,
            UV=uv_path(),
            AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
            AIRFLOW__CORE__HOSTNAME_CALLABLE="e2e_hostname.hostname",
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{api_port}/execution/",
            AIRFLOW__API_AUTH__JWT_SECRET="e2e-jwt-secret-not-for-production",
            AIRFLOW__API__SECRET_KEY="e2e-api-secret-not-for-production",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=meta_sa,
            # psycopg 3 for the async engine too (else Airflow wants asyncpg)
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC=meta_sa.replace("+psycopg://", "+psycopg_async://"),
            AIRFLOW__CELERY__BROKER_URL=f"redis://127.0.0.1:{redis_port}/0",
            AIRFLOW__CELERY__RESULT_BACKEND="db+" + meta_sa,
            AIRFLOW__CELERY__WORKER_CONCURRENCY="1",
            AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False",  # only the runs this test triggers
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT="20",  # a dead worker's task fails after 20 s
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL="3",
            AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
            PYTHONPATH=str(_hostname_module(base)),
        )

        def env_of(name: str, workspace: Path) -> dict[str, str]:
            home = base / "home" / name
            home.mkdir(parents=True, exist_ok=True)
            return {
                **common,
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(workspace / "tools"),
                "BUILDCPG_WORKSPACE": str(workspace),
                "E2E_WORKER_NAME": name,
            }

        control = env_of("control", workspaces["control"])
        env = Env(base, processes, control, metadata_url, state_url, s3, workspaces, clean, started)
        env.airflow("db", "migrate", timeout=400)
        pools = subprocess.run(
            [sys.executable, str(workspaces["control"] / "tools" / "airflow_dags.py"), "pools"],
            env=control,
            capture_output=True,
            text=True,
            check=True,
        )
        (base / "pools.json").write_text(pools.stdout)
        env.airflow("pools", "import", str(base / "pools.json"))
        airflow = str(BIN / "airflow")
        processes.start(
            "api-server", [airflow, "api-server", "-H", "127.0.0.1", "-p", str(api_port), "-w", "1"], control
        )
        processes.start("scheduler", [airflow, "scheduler"], control)
        processes.start("dag-processor", [airflow, "dag-processor"], control)
        for name, queues in zip(WORKERS, ("default", "default,big"), strict=True):
            processes.start(
                name,
                [airflow, "celery", "worker", "-H", f"{name}@127.0.0.1", "-q", queues, "-c", "1", "--skip-serve-logs"],
                env_of(name, workspaces[name]),
            )
        try:
            _wait(
                "the DAGs to be parsed",
                lambda: len(env.meta("select dag_id from dag where dag_id like 'buildcpg_%%' and not is_stale")) >= 2,
                240,
                every=2,
            )
            env.ready_s = time.monotonic() - started
            yield env
        except BaseException:
            for name in processes.procs:
                print(f"--- {name} ---\n{processes.tail(name)}")
            raise
        finally:
            stamps["tested"] = time.monotonic()
    print(
        f"\nairflow celery e2e: up and DAGs parsed after {env.ready_s:.0f} s, tests done after "
        f"{stamps['tested'] - started:.0f} s, every server stopped after {stamps['stopped'] - started:.0f} s, "
        f"(the temp folder is removed in the background); peak memory "
        f"{processes.peak_rss / 2**30:.2f} GB RSS (sum over every process of the env, lab runs included)"
    )


def test_labs_run_on_two_workers_and_lab4_reads_published_versions(stack: Env) -> None:
    state = stack.trigger_and_wait("buildcpg_labs", "e2e-all", timeout=420)
    tis = stack.task_instances("buildcpg_labs", "e2e-all")
    assert state == "success" and {t: ti["state"] for t, ti in tis.items()} == dict.fromkeys(
        (LAB1, LAB2, LAB3, LAB4), "success"
    ), tis
    assert {ti["hostname"] for ti in tis.values()} == set(WORKERS), tis  # both workers ran labs
    assert (tis[LAB3]["queue"], tis[LAB3]["hostname"]) == ("big", "worker-b")  # lab.yaml queue: big
    assert tis[LAB4]["start_date"] >= max(tis[lab]["end_date"] for lab in (LAB1, LAB2, LAB3)), tis

    runs = stack.state("select lab, status, inputs, run_id from lab_runs")
    assert sorted(r[0] for r in runs) == sorted((LAB1, LAB2, LAB3, LAB4)), runs  # each attempt once
    inputs = json.loads(next(r[2] for r in runs if r[0] == LAB4))
    read = sorted(set(inputs.values()))
    assert read == sorted(f"{lab} v{stack.current_version(lab)}" for lab in (LAB1, LAB2, LAB3)), inputs
    commands = {r[0] for r in stack.state("select command from runs where finished_at is not null")}
    assert commands == {f"airflow {lab} (e2e-all try 1)" for lab in (LAB1, LAB2, LAB3, LAB4)}, commands


def test_a_worker_killed_mid_run_the_other_retries_consistent_and_recorded(stack: Env) -> None:
    dag_id = f"buildcpg_{LAB1}"
    # lab 1 builds from scratch, long enough to be caught running: no local database on either worker,
    # and no lab state on storage to restore (its good run above left a snapshot there)
    assert stack.forget_lab_state(LAB1) >= 2  # the snapshot and its CURRENT.json
    for root in stack.workspaces.values():
        for db in (root / "labs" / LAB1 / "data").glob("*.duckdb*"):
            db.unlink()
        (root / "labs" / LAB1 / "data" / ".state_version").unlink(missing_ok=True)
    stack.airflow("dags", "trigger", dag_id, "--run-id", "e2e-kill")

    def running_host() -> str | None:
        leases = stack.state("select lab from lab_leases where lab = %s", LAB1)
        ti = stack.task_instances(dag_id, "e2e-kill").get(LAB1, {})
        return ti.get("hostname") if leases and ti.get("state") == "running" else None

    victim = _wait("lab 1 to hold its lease on a worker", running_host, 240, every=0.5)
    time.sleep(2)  # well inside the run (Load / Transform)
    stack.processes.kill_tree(victim)
    survivor = next(w for w in WORKERS if w != victim)

    def finished() -> str | None:
        rows = stack.meta("select state from dag_run where dag_id = %s and run_id = 'e2e-kill'", dag_id)
        return rows[0][0] if rows and rows[0][0] in ("success", "failed") else None

    assert _wait("the retried DAG run", finished, 300, every=2) == "success"
    ti = stack.task_instances(dag_id, "e2e-kill")[LAB1]
    assert (ti["state"], ti["hostname"], ti["try_number"]) == ("success", survivor, 2), ti
    first = stack.meta(
        "select hostname, state from task_instance_history where dag_id = %s and run_id = 'e2e-kill' "
        "and task_id = %s and try_number = 1",
        dag_id,
        LAB1,
    )
    assert first and first[0][0] == victim and first[0][1] != "success", first

    assert stack.state("select lab from lab_leases") == []  # the lease was freed
    held = (
        "select count(*) from pg_locks where locktype = 'advisory' "
        "and database = (select oid from pg_database where datname = current_database())"
    )
    assert stack.state(held) == [(0,)]  # no advisory lock left in the state database
    attempts = stack.state(
        "select r.command, r.finished_at, count(l.id) from runs r left join lab_runs l on l.run_id = r.run_id "
        "where r.command like %s group by r.command, r.finished_at",
        f"airflow {LAB1} (e2e-kill %",
    )
    by_try = {command.rsplit(" ", 1)[-1].rstrip(")"): (finished_at, n) for command, finished_at, n in attempts}
    assert set(by_try) == {"1", "2"}, attempts
    assert by_try["1"] == (None, 0)  # the dead attempt: started, never finished, no lab run
    assert by_try["2"][0] is not None and by_try["2"][1] == 1
    kill_runs = stack.state(
        "select l.status from lab_runs l join runs r on r.run_id = l.run_id where r.command like %s",
        f"airflow {LAB1} (e2e-kill %",
    )
    assert kill_runs in ([("ok",)], [("warn",)]), kill_runs

    env = {k: v for k, v in stack.airflow_env.items() if not k.startswith("AIRFLOW")}
    # what the team reads: `buildcpg runs` names the dead attempt (its process is gone), then the retry
    listed = subprocess.run(
        [sys.executable, "-m", "buildcpg_shared.cli", "runs", LAB1, "--json", "--last", "50"],
        cwd=stack.workspaces["control"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stdout + listed.stderr
    killed = [r for r in json.loads(listed.stdout) if "(e2e-kill" in r.get("command", "")]
    assert [r["status"] for r in killed] == ["died"], killed

    out, _ = stack.clean_lab1.communicate(timeout=300)
    assert stack.clean_lab1.returncode == 0, out[-3000:]
    pulled = stack.base / "pulled.duckdb"
    pull = subprocess.run(
        [sys.executable, "-m", "buildcpg_shared.cli", "pull", LAB1, "--to", str(pulled)],
        cwd=stack.workspaces["control"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert pull.returncode == 0, pull.stdout + pull.stderr
    clean = stack.base / "clean" / "labs" / LAB1 / "data" / "serving" / f"{LAB1}.duckdb"
    assert _gold(pulled) == _gold(clean)


def _gold(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every gold table of a serving copy, rows sorted."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [
            r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'gold'").fetchall()
        ]
        names += [
            r[0] for r in con.execute("select view_name from duckdb_views() where schema_name = 'gold'").fetchall()
        ]
        assert names, f"no gold tables in {path}"
        return {n: sorted(con.execute(f'select * from gold."{n}"').fetchall(), key=repr) for n in sorted(names)}
    finally:
        con.close()
