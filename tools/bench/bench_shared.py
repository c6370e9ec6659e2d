"""Benchmark: what shared storage and state cost, side by side in one run (issue 23).

Against a real S3 API (moto's server, in its own process) and a real PostgreSQL (``initdb`` +
``pg_ctl`` in a temporary folder, fsync on as SQLite's commits are), both on 127.0.0.1:

* **lab 1 run, embedded vs shared**: on one temporary copy of the workspace (lab 1 only, its venv
  synced), each trial removes the lab's database and serving copies first, so every run does the
  same work (a first build: Check, Load, dbt build, Inspect, Publish; ``--rebuild``, so the shared
  run never restores the snapshot the previous one left); then ``buildcpg run lab1_sales_performance``
  embedded (SQLite history, file lock, local serving copy) and shared
  (``BUILDCPG_STORAGE`` + ``BUILDCPG_STATE``: the PostgreSQL lease and history, the upload and the
  pointer), alternating which goes first. Target: shared ≤ 1.10× embedded (medians).
* **publish + pull of a big serving file vs a bare upload + download**: the same file (``--size-mb``,
  default 1024; random bytes: storage never opens it) and the same boto3 client. Publish is
  ``SharedGold.publish`` (sha256, create-only upload, conditional pointer, prune); pull is
  ``SharedGold.pull`` (pointer, streamed download with the sha256 checked, rename). Bare is
  ``put_object`` of the open file and ``get_object`` streamed to a file. Alternating order.
  Target: ≤ 1.15× (medians).

    uv run --locked python tools/bench/bench_shared.py [--trials 3] [--size-mb 1024]
    uv run --locked python tools/bench/bench_shared.py --quick     # 1 trial, 128 MB: to try it out
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from buildcpg_shared.local_servers import new_database, postgres_server, s3_server
from buildcpg_shared.registry import Workspace
from buildcpg_shared.store import ObjectStore, SharedGold
from buildcpg_shared.testing import copy_workspace, keep_only_labs, run_cli

ROOT = Workspace.find(Path(__file__).resolve().parent).root

LAB1 = "lab1_sales_performance"
RUN_TARGET, STORE_TARGET = 1.10, 1.15
CHUNK = 8 * 1024 * 1024


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    initdb = found[0] if found else (Path(shutil.which("initdb") or "") if shutil.which("initdb") else None)
    if initdb is None:
        sys.exit("this benchmark needs PostgreSQL's server programs (initdb, pg_ctl): apt-get install postgresql")
    return initdb.resolve().parent


def _timed(root: Path, *args: str, **env: str) -> float:
    start = time.perf_counter()
    result = run_cli(root, *args, **env)
    took = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"benchmark command failed: buildcpg {' '.join(args)}\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return took


def _fresh(lab_dir: Path) -> None:
    """The lab without its database and serving copies: the next run (with ``--rebuild``, which never
    restores a lab state snapshot from storage) is a first build in both modes."""
    data = lab_dir / "data"
    for path in [*data.glob("*.duckdb*"), data / "last_run.json", data / ".state_version"]:
        path.unlink(missing_ok=True)
    for folder in (data / "serving", data / ".publish"):
        shutil.rmtree(folder, ignore_errors=True)


def bench_lab_run(trials: int, shared_env: dict[str, str]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="bench-shared-") as tmp:
        root = copy_workspace(ROOT, Path(tmp) / "ws")
        keep_only_labs(root, [LAB1])
        _timed(root, "sync", LAB1)
        lab_dir = root / "labs" / LAB1
        embedded_env: dict[str, str] = {}
        for env in (embedded_env, shared_env):  # warm-up of each: dbt's parse cache, imports
            _fresh(lab_dir)
            _timed(root, "run", LAB1, "--no-sync", "--rebuild", **env)
        times: dict[str, list[float]] = {"embedded": [], "shared": []}
        for trial in range(1, trials + 1):
            order = ("embedded", "shared") if trial % 2 else ("shared", "embedded")
            for mode in order:
                _fresh(lab_dir)
                env = shared_env if mode == "shared" else embedded_env
                times[mode].append(_timed(root, "run", LAB1, "--no-sync", "--rebuild", **env))
            print(
                f"  trial {trial}: lab 1 run embedded {times['embedded'][-1]:.2f}s, shared {times['shared'][-1]:.2f}s"
            )
    return statistics.median(times["embedded"]), statistics.median(times["shared"])


def _big_file(path: Path, size_mb: int) -> None:
    with path.open("wb") as out:
        for _ in range(size_mb * 1024 * 1024 // CHUNK):
            out.write(os.urandom(CHUNK))


def bench_store(trials: int, size_mb: int, env: dict[str, str]) -> dict[str, float]:
    gold = SharedGold(ObjectStore(env["BUILDCPG_STORAGE"], env), keep_versions=2)
    client, bucket = gold.store.client, gold.store.where.bucket
    lab = "lab_bench"
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        big, down = Path(tmp) / "serving.duckdb", Path(tmp) / "pulled.duckdb"
        _big_file(big, size_mb)

        def publish() -> None:
            gold.publish(lab, big, run_id="bench", next_version=gold.next_version(lab))

        def pull() -> None:
            gold.pull(lab, down)

        def bare_up() -> None:
            with big.open("rb") as body:
                client.put_object(Bucket=bucket, Key=gold.store.where.key("bare/object"), Body=body)

        def bare_down() -> None:
            got = client.get_object(Bucket=bucket, Key=gold.store.where.key("bare/object"))["Body"]
            with down.open("wb") as out:
                for chunk in got.iter_chunks(CHUNK):
                    out.write(chunk)

        steps: dict[str, Callable[[], None]] = {
            "publish": publish,
            "pull": pull,
            "bare upload": bare_up,
            "bare download": bare_down,
        }
        times: dict[str, list[float]] = {name: [] for name in steps}
        for trial in range(1, trials + 1):
            pairs = (("publish", "pull"), ("bare upload", "bare download"))
            for pair in pairs if trial % 2 else pairs[::-1]:
                for name in pair:
                    start = time.perf_counter()
                    steps[name]()
                    times[name].append(time.perf_counter() - start)
            print(
                f"  trial {trial}: publish {times['publish'][-1]:.2f}s + pull {times['pull'][-1]:.2f}s, "
                f"bare upload {times['bare upload'][-1]:.2f}s + download {times['bare download'][-1]:.2f}s"
            )
        assert gold.current(lab) is not None and gold.versions(lab)  # published for real
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3, help="trials per variant; medians are reported")
    parser.add_argument("--size-mb", type=int, default=1024, help="size of the serving file for publish + pull")
    parser.add_argument("--quick", action="store_true", help="1 trial and a 128 MB file: to try the benchmark")
    args = parser.parse_args()
    trials, size_mb = (1, 128) if args.quick else (args.trials, args.size_mb)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: still stop moto and PostgreSQL
    with s3_server("bench-secret", own_process=True) as s3, postgres_server(_postgres_bin(), durable=True) as admin:
        shared_env = {**s3, "BUILDCPG_STATE": new_database(admin)}
        print(f"moto S3 at {s3['AWS_ENDPOINT_URL']}, PostgreSQL on 127.0.0.1; {trials} trial(s), alternating order")
        embedded, shared = bench_lab_run(trials, shared_env)
        store = bench_store(trials, size_mb, s3)
    run_ratio = shared / embedded
    ours = store["publish"] + store["pull"]
    bare = store["bare upload"] + store["bare download"]
    store_ratio = ours / bare
    print()
    print(f"{'':38}{'embedded / bare':>16}{'shared / ours':>16}{'ratio':>8}")
    print(f"{'lab 1 run (first build, real dbt)':38}{embedded:>15.2f}s{shared:>15.2f}s{run_ratio:>7.2f}x")
    print(
        f"{f'{size_mb} MB: upload  (bare put / publish)':38}{store['bare upload']:>15.2f}s{store['publish']:>15.2f}s"
        f"{store['publish'] / store['bare upload']:>7.2f}x"
    )
    print(
        f"{f'{size_mb} MB: download (bare get / pull)':38}{store['bare download']:>15.2f}s{store['pull']:>15.2f}s"
        f"{store['pull'] / store['bare download']:>7.2f}x"
    )
    print(f"{f'{size_mb} MB: both':38}{bare:>15.2f}s{ours:>15.2f}s{store_ratio:>7.2f}x")
    print()
    verdict = {True: "PASS", False: "MISS"}
    print(
        f"lab 1 run shared vs embedded: {run_ratio:.2f}x (target <= {RUN_TARGET}x) {verdict[run_ratio <= RUN_TARGET]}"
    )
    print(
        f"publish + pull vs bare upload + download: {store_ratio:.2f}x (target <= {STORE_TARGET}x) "
        f"{verdict[store_ratio <= STORE_TARGET]}"
    )


if __name__ == "__main__":
    main()
