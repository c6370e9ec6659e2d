"""Two workspace copies, A and B, on one machine, sharing nothing but one S3 server (moto on
127.0.0.1) and one PostgreSQL: the combined story of issue 23 ("Done when") and its faults (item 8).

test_shared_storage.py proves the storage mechanics (conditional pointer, pruning, checksums) and
test_shared_state.py the state ones (lease, incidents) each on its own; here both services are set
at once, every run is a real CLI process, and the faults moto cannot make itself go through a real
HTTP proxy (s3_proxy.py). Without PostgreSQL's server programs the tests say they did not run; under
``CI=true`` they fail.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import duckdb
import psycopg
import pytest
from alert_servers import json_api
from buildcpg_shared.local_servers import PASSWORD, new_database, s3_server
from buildcpg_shared.registry import Workspace
from buildcpg_shared.store import ObjectStore, SharedGold
from buildcpg_shared.store.published import Pointer
from buildcpg_shared.testing import cli_env, copy_workspace, run_cli
from conftest import WORKSPACE_ROOT, tiny_labs_workspace
from s3_proxy import Fault, s3_proxy
from test_shared_state import _lease_holder, _poll_slow_api
from test_shared_storage import _served

SECRET = "s3cr3t-AB-Never-Shown-71d0"
REAL = ["lab1_sales_performance", "lab2_forecast_model", "lab3_customer_segmentation", "lab4_category_review"]
UP = "lab1_a"
QUICK = ("--no-sync", "--steps", "check,load")
PUBLISH = ("--no-sync", "--steps", "check,load,publish")
RealAB = tuple[dict[str, str], Path, Path]  # the services' env, A's root, B's root


# -- the two services ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def moto() -> Iterator[dict[str, str]]:
    """One moto server for the module (a bucket per test, below)."""
    with s3_server(secret=SECRET) as env:
        yield env


def _new_bucket(moto: dict[str, str]) -> dict[str, str]:
    bucket = f"ab-{uuid.uuid4().hex[:12]}"
    _s3(moto).create_bucket(Bucket=bucket)
    return {**moto, "BUILDCPG_STORAGE": f"s3://{bucket}/team"}


def _s3(env: dict[str, str]) -> Any:  # a boto3 S3 client
    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )


@pytest.fixture
def shared(moto: dict[str, str], state_url: str) -> dict[str, str]:
    """A fresh bucket and a fresh database: BUILDCPG_STORAGE, BUILDCPG_STATE and the AWS variables."""
    return {**_new_bucket(moto), "BUILDCPG_STATE": state_url}


def _gold(env: dict[str, str]) -> SharedGold:
    store_env = {k: v for k, v in env.items() if k.startswith("AWS_")}
    return SharedGold(ObjectStore(env["BUILDCPG_STORAGE"], store_env))


def _pointer(env: dict[str, str], lab: str) -> Pointer | None:
    found = _gold(env).current(lab)
    return found[0] if found else None


def _object_sha(env: dict[str, str], key: str) -> str:
    digest = hashlib.sha256()
    for chunk in _gold(env).store.chunks(key):
        digest.update(chunk)
    return digest.hexdigest()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _history(env: dict[str, str]) -> list[dict[str, object]]:
    """Every lab run and step row in the state database, as text (what a secret must never be in)."""
    with psycopg.connect(env["BUILDCPG_STATE"]) as con:
        rows = []
        for table in ("runs", "lab_runs", "step_runs", "incidents"):
            cur = con.execute(f"select * from {table}")
            names = [c.name for c in cur.description or []]
            rows += [{"table": table, **dict(zip(names, row, strict=True))} for row in cur.fetchall()]
    return rows


# -- A and B with the real labs ------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_ab(tmp_path_factory: pytest.TempPathFactory, moto: dict[str, str], postgres_admin_url: str) -> RealAB:
    """A runs labs 1–3 (real dbt, each in its own venv), then B runs lab 4. B is a whole copy of the
    workspace, as a second machine would have, but never ran labs 1–3: what it reads can only come
    through storage. (env, A's root, B's root)."""
    env = {**_new_bucket(moto), "BUILDCPG_STATE": new_database(postgres_admin_url)}
    base = tmp_path_factory.mktemp("ab")
    a, b = copy_workspace(WORKSPACE_ROOT, base / "A"), copy_workspace(WORKSPACE_ROOT, base / "B")
    for root, labs in ((a, REAL[:3]), (b, REAL[3:])):
        synced = run_cli(root, "sync", *labs)
        assert synced.returncode == 0, synced.stdout + synced.stderr
    on_a = run_cli(a, "run", *REAL[:3], "--jobs", "2", "--no-sync", **env)
    assert on_a.returncode == 0, on_a.stdout[-3000:] + on_a.stderr[-3000:]
    on_b = run_cli(b, "run", REAL[3], "--no-sync", **env)
    assert on_b.returncode == 0, on_b.stdout[-3000:] + on_b.stderr[-3000:]
    return env, a, b


def test_lab4_on_b_reads_exactly_the_versions_a_published(real_ab: RealAB) -> None:
    env, a, b = real_ab
    pointers = {lab: _pointer(env, lab) for lab in REAL[:3]}
    lab4 = b / "labs" / REAL[3]
    with duckdb.connect(str(lab4 / "data" / f"{REAL[3]}.duckdb"), read_only=True) as con:
        read = dict(con.execute("select lab, version from _buildcpg.input_versions").fetchall())
    assert read == {lab: p.version for lab, p in pointers.items() if p}, (read, pointers)
    for lab, pointer in pointers.items():
        assert pointer is not None
        cached = lab4 / "data" / ".inputs" / lab / f"v{pointer.version}.duckdb"
        served_on_a = a / "labs" / lab / "data" / "serving" / f"{lab}.duckdb"
        assert _sha(cached) == pointer.sha256 == _sha(served_on_a)  # the very file A serves, byte for byte
        # B never had a copy of its own (the folder itself may come with the copied workspace)
        assert not list((b / "labs" / lab / "data" / "serving").glob("*.duckdb*"))
    reader = _pointer(env, REAL[3])
    assert reader is not None and reader.version == 1  # B's lab 4 published too


def test_the_history_holds_each_run_once_and_both_machines_show_it(real_ab: RealAB) -> None:
    env, a, b = real_ab
    seen = [json.loads(run_cli(root, "runs", "--last", "50", "--json", **env).stdout) for root in (a, b)]
    assert seen[0] == seen[1]
    assert sorted(r["lab"] for r in seen[0]) == REAL  # four runs, each once
    assert len({r["lab_run_id"] for r in seen[0]}) == 4 and all(r["status"] in ("ok", "warn") for r in seen[0])
    lab4 = next(r for r in seen[0] if r["lab"] == REAL[3])
    assert lab4["inputs"] == {
        "category_weeks": f"{REAL[0]} v1",
        "forecast": f"{REAL[1]} v1",
        "segments": f"{REAL[2]} v1",
    }
    for root in (a, b):
        assert not (root / ".buildcpg" / "history.sqlite").exists()  # nothing went to an embedded history


# -- A and B with tiny labs (no dbt): the lease, kills, readers, incidents -----------------------
def _pair(tmp_path: Path) -> tuple[Workspace, Workspace]:
    """Workspaces A and B with the same tiny lab (``lab1_a``, gold made by the test), nothing shared."""
    return tiny_labs_workspace(tmp_path / "A", {UP: []}), tiny_labs_workspace(tmp_path / "B", {UP: []})


def _gold_rows(ws: Workspace, rows: int, raw: int) -> None:
    """A new raw file (a new build) and ``rows`` rows of gold, as a transform would leave them."""
    lab = ws.lab(UP)
    (lab.paths.raw_dir / f"items_{raw + 1}.csv").write_text(f"id\n{raw + 1}\n")
    with duckdb.connect(str(lab.paths.database())) as con:
        con.execute("create schema if not exists gold")
        con.execute(f"create or replace table gold.t as select range as id, {raw} as build from range({rows})")


def _start(ws: Workspace, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "buildcpg_shared.cli", "run", UP, *args],
        cwd=ws.root,
        env=cli_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


HOLD_S = 120.0  # the longest the held API holds an answer


@pytest.fixture
def held_api() -> Iterator[tuple[str, threading.Event]]:
    """The URL of a JSON API on 127.0.0.1 that answers only once the returned event is set (at most
    ``HOLD_S``): a run polling it holds its lab until the test lets it go, however slowly the two
    processes start."""
    release = threading.Event()
    with json_api(lambda: release.wait(HOLD_S)) as url:
        try:
            yield url, release
        finally:
            release.set()


def test_the_same_lab_on_a_and_b_at_once_20_times_runs_exactly_once(
    tmp_path: Path, shared: dict[str, str], held_api: tuple[str, threading.Event]
) -> None:
    url, release = held_api
    a, b = _pair(tmp_path)
    for ws in (a, b):  # a run holds the lab in its Check until the test releases the API
        _poll_slow_api(ws, UP, url)
    for i in range(20):
        release.clear()
        both = [_start(a, shared, *QUICK), _start(b, shared, *QUICK)]
        while all(p.poll() is None for p in both):  # the winner cannot end before the release:
            time.sleep(0.05)  # the first to end is the one refused (or, without the lease, nobody)
        release.set()
        outputs = [p.communicate(timeout=300)[0] for p in both]
        codes = [p.returncode for p in both]
        assert sorted(codes) == [0, 3], (i, outputs)
        busy = outputs[codes.index(3)]
        assert re.search(rf"lab {UP} is already running: held by pid \d+ on \S+ since \S+", busy), busy
    runs = json.loads(run_cli(b.root, "runs", UP, "--last", "100", "--json", **shared).stdout)
    assert sorted(r["status"] for r in runs) == ["busy"] * 20 + ["ok"] * 20  # each run once, on either machine


def test_sigkill_mid_upload_leaves_the_pointer_on_a_complete_version_and_b_takes_the_lab(
    tmp_path: Path, shared: dict[str, str]
) -> None:
    a, b = _pair(tmp_path)
    _gold_rows(a, 10, raw=1)
    assert run_cli(a.root, "run", UP, *PUBLISH, **shared).returncode == 0
    first = _pointer(shared, UP)
    assert first is not None and first.version == 1
    with s3_proxy(shared["AWS_ENDPOINT_URL"]) as proxy:
        proxy.fault = Fault(f"serving/{UP}/v2.duckdb", stall=True)  # the server gets half the body, then waits
        _gold_rows(a, 300_000, raw=2)
        run = _start(a, {**shared, "AWS_ENDPOINT_URL": proxy.url}, *PUBLISH)
        try:
            assert proxy.stalled.wait(180), "the upload never started"
            pid = _lease_holder(shared["BUILDCPG_STATE"], UP)
            assert _pointer(shared, UP) == first  # mid-upload: the pointer still names v1
            os.kill(pid, signal.SIGKILL)  # the lab process, mid-upload
            killed_at = time.monotonic()
        finally:
            out = run.communicate(timeout=120)[0]
        assert run.returncode != 0, out
    assert _pointer(shared, UP) == first  # never an incomplete object
    assert _gold(shared).versions(UP) == [1]  # a PUT cut short is no object at all (S3 and moto alike)
    assert _object_sha(shared, first.key) == first.sha256
    assert _served(a.lab(UP).paths.serving_file) == (1, 10)  # A's local copy is still v1 as well

    _gold_rows(b, 20, raw=3)  # B's own database, never snapshotted: B's run restores A's last good state over it
    took = run_cli(b.root, "run", UP, *PUBLISH, **shared)  # the lease went with A's session
    assert took.returncode == 0, took.stdout + took.stderr
    assert time.monotonic() - killed_at < 60
    now = _pointer(shared, UP)
    assert now is not None and now.version == 2 and now.run_id != first.run_id
    assert _object_sha(shared, now.key) == now.sha256 == _sha(b.lab(UP).paths.serving_file)
    pulled = tmp_path / "bi.duckdb"
    assert run_cli(a.root, "pull", UP, "--to", str(pulled), **shared).returncode == 0
    assert _served(pulled) == (now.version, 10)  # A's last good gold, not B's own never-snapshotted 20 rows
    runs = json.loads(run_cli(b.root, "runs", UP, "--json", **shared).stdout)  # A's killed run is there, once
    assert [r["status"] for r in runs] == ["ok", "failed", "ok"], runs
    restored = [s for s in runs[0]["steps"] if s["name"] == "restore"]
    assert [s["status"] for s in restored] == ["ok"] and restored[0]["detail"].startswith("s1 of run "), restored
    assert runs[1]["error"] == "lab process exited with code -9 before reporting (crash?)"


def test_a_reader_on_b_polling_during_three_publishes_from_a_never_sees_a_mix(
    tmp_path: Path, shared: dict[str, str]
) -> None:
    a, b = _pair(tmp_path)
    _gold_rows(a, 1, raw=1)
    assert run_cli(a.root, "run", UP, *PUBLISH, **shared).returncode == 0
    target = tmp_path / "bi" / "lab1.duckdb"
    seen: list[tuple[int, int, int, str]] = []  # (version pull said, file version, rows, sha256)
    problems: list[str] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            done = run_cli(b.root, "pull", UP, "--to", str(target), **shared)
            said = re.search(rf"{UP} v(\d+) ", done.stdout)
            if done.returncode or not said:
                problems.append(done.stdout + done.stderr)
                return
            seen.append((int(said.group(1)), *_served(target), _sha(target)))

    reader = threading.Thread(target=poll)
    reader.start()
    rows_of = {1: 1}
    try:
        for raw, rows in ((2, 20_000), (3, 30_000), (4, 40_000)):
            _gold_rows(a, rows, raw=raw)
            done = run_cli(a.root, "run", UP, *PUBLISH, **shared)
            assert done.returncode == 0, done.stdout + done.stderr
            rows_of[raw] = rows
        deadline = time.monotonic() + 120  # until the reader has seen the last publish
        while reader.is_alive() and not any(v == 4 for v, *_ in seen) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        reader.join(timeout=120)
    assert not problems, problems
    assert {v for v, *_ in seen} >= {4} and len(seen) >= 3, seen
    shas = {v: _object_sha(shared, f"serving/{UP}/v{v}.duckdb") for v in rows_of}
    for said, version, rows, sha in seen:  # old or new, never a mix
        assert said == version and rows == rows_of[version] and sha == shas[version]
    versions = [v for v, *_ in seen]
    assert versions == sorted(versions)  # never back


def test_a_storage_fault_on_a_opens_an_incident_and_b_closes_it_with_one_recovery(
    tmp_path: Path, shared: dict[str, str]
) -> None:
    a, b = _pair(tmp_path)
    alerts = tmp_path / "alerts.jsonl"
    for ws in (a, b):  # one log route, one file, for both machines
        (ws.root / "buildcpg.yaml").write_text(
            f"alerts:\n  routes:\n    - {{type: log, path: '{alerts}', allow_outside_workspace: true}}\n"
        )
    _gold_rows(a, 5, raw=1)
    assert run_cli(a.root, "run", UP, *PUBLISH, **shared).returncode == 0
    with s3_proxy(shared["AWS_ENDPOINT_URL"]) as proxy:
        proxy.fault = Fault(f"serving/{UP}/", error="QuotaExceeded")
        full = {**shared, "AWS_ENDPOINT_URL": proxy.url}
        for raw in (2, 3):  # still failing: no second alert
            _gold_rows(a, 6, raw=raw)
            assert run_cli(a.root, "run", UP, *PUBLISH, **full).returncode == 1
    for raw in (1, 2):  # still good: no second recovery
        _gold_rows(b, 7, raw=raw)
        done = run_cli(b.root, "run", UP, *PUBLISH, **shared)
        assert done.returncode == 0, done.stdout + done.stderr
    sent = [(x["kind"], x["state"]) for x in map(json.loads, alerts.read_text().splitlines())]
    assert sent == [("failed", "open"), ("failed", "recovered")]
    assert "over its quota (QuotaExceeded" in alerts.read_text().splitlines()[0]
    incidents = [r for r in _history(shared) if r["table"] == "incidents"]
    assert len(incidents) == 1 and incidents[0]["closed_at"] is not None
    runs = json.loads(run_cli(a.root, "runs", UP, "--json", **shared).stdout)
    assert [r["status"] for r in runs] == ["ok", "ok", "failed", "failed", "ok"]
    assert SECRET not in json.dumps(_history(shared), default=str) + alerts.read_text()


# -- item 8: faults ------------------------------------------------------------------------------
STORAGE_FAULTS = {  # case: the phrase of its one line
    "quota": "the bucket is full or over its quota (QuotaExceeded: The quota for this bucket has been exceeded.)",
    "too large": "the store refuses an object this large (EntityTooLarge:",
    "slow down": "the store is overloaded and still said so after retries (SlowDown:",
    "key refused": "credentials refused (AWS_ACCESS_KEY_ID unknown)",
    "secret refused": "credentials refused (AWS_SECRET_ACCESS_KEY does not match)",
    "state refused": "password authentication failed",
    "state unreachable": "state database postgresql://postgres:***@127.0.0.1:1/",
}
WRONG_SECRET = "wr0ng-Secret-Never-Shown-5e1"


@contextlib.contextmanager
def _moto_checks_credentials(moto: dict[str, str]) -> Iterator[str]:
    """A real IAM key id of the moto server (yielded), with moto checking every request's credentials
    meanwhile (its IAM authentication: an unknown key or a wrong secret is refused as S3 refuses it)."""
    from moto.core.authorization import enable_iam_authentication

    iam = boto3.client(
        "iam",
        endpoint_url=moto["AWS_ENDPOINT_URL"],
        aws_access_key_id="admin",
        aws_secret_access_key="admin",
        region_name="us-east-1",
    )
    user = f"worker-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    key_id = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    with enable_iam_authentication():
        yield key_id


@pytest.mark.parametrize("case", list(STORAGE_FAULTS))
def test_each_fault_is_one_line_publishes_nothing_and_shows_no_secret(
    tmp_path: Path, shared: dict[str, str], case: str
) -> None:
    a, b = _pair(tmp_path)
    _gold_rows(a, 5, raw=1)
    assert run_cli(a.root, "run", UP, *PUBLISH, **shared).returncode == 0
    first = _pointer(shared, UP)
    assert first is not None
    _gold_rows(a, 6, raw=2)  # a new build for the run that meets the fault
    last_good = a.lab(UP).paths.last_run_file.read_text()
    port = shared["BUILDCPG_STATE"].rsplit(":", 1)[1].split("/")[0]
    env = dict(shared)
    with contextlib.ExitStack() as fault:
        if case in ("quota", "too large", "slow down"):
            proxy = fault.enter_context(s3_proxy(shared["AWS_ENDPOINT_URL"]))
            code = {"quota": "QuotaExceeded", "too large": "EntityTooLarge"}.get(case, "SlowDown")
            proxy.fault = Fault(f"serving/{UP}/v2.duckdb", error=code)
            env["AWS_ENDPOINT_URL"] = proxy.url
        elif case == "key refused":  # the key A uses is not one the server knows
            fault.enter_context(_moto_checks_credentials(shared))
        elif case == "secret refused":  # a key the server knows, with the wrong secret
            key_id = fault.enter_context(_moto_checks_credentials(shared))
            env |= {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": WRONG_SECRET}
        elif case == "state refused":
            env["BUILDCPG_STATE"] = env["BUILDCPG_STATE"].replace(PASSWORD, WRONG_SECRET)
        else:
            env["BUILDCPG_STATE"] = env["BUILDCPG_STATE"].replace(f":{port}/", ":1/")
        failed = run_cli(a.root, "run", UP, *PUBLISH, **env)
        if "refused" in case:  # doctor names the same reason (an S3 HEAD answer would be a bare 403)
            doctor = run_cli(a.root, "doctor", **env)
            assert doctor.returncode != 0 and STORAGE_FAULTS[case] in doctor.stdout, doctor.stdout
    out = failed.stdout + failed.stderr
    assert failed.returncode != 0 and "Traceback" not in out, out
    said = [x for x in out.splitlines() if STORAGE_FAULTS[case] in x]
    assert said and (" storage s3://" in said[-1] or "state database postgresql://" in said[-1]), out
    # nothing partial: the pointer, the objects and A's own serving copy are as the last good run left them
    assert _pointer(shared, UP) == first
    assert _gold(shared).versions(UP) == [1]
    assert _served(a.lab(UP).paths.serving_file) == (1, 5)
    last_run = json.loads(a.lab(UP).paths.last_run_file.read_text())
    if case.startswith("state"):  # refused before its first step: nothing written, not even last_run.json
        assert a.lab(UP).paths.last_run_file.read_text() == last_good
    else:
        assert STORAGE_FAULTS[case] in last_run["error"] and "\n" not in last_run["error"]
    # no secret anywhere: output, the history, any file either machine wrote
    secrets = (SECRET, WRONG_SECRET, PASSWORD)
    assert not [s for s in secrets if s in out + (doctor.stdout + doctor.stderr if "refused" in case else "")]
    assert not [s for s in secrets if s in json.dumps(_history(shared), default=str)]
    for path in (p for ws in (a, b) for p in ws.root.rglob("*") if p.is_file() and ".venv" not in p.parts):
        assert not [s for s in secrets if s.encode() in path.read_bytes()], path
    pulled = tmp_path / "bi.duckdb"  # a reader still gets the last complete version
    assert run_cli(b.root, "pull", UP, "--to", str(pulled), **shared).returncode == 0
    assert _sha(pulled) == first.sha256
