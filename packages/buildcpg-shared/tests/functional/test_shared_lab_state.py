"""Lab state follows the lab (issue 23, item 5): the lab database is snapshotted to object storage after
each good run and restored before a run on a machine whose copy is missing or older.

Two workspace copies, A and B, share nothing but a real S3 API (moto's server on 127.0.0.1). Faults are
real too: a SIGKILLed lab process, and a TCP proxy in front of the server that slows uploads down or
stops answering (storage down) at a chosen moment.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.orchestrate.service import run_lab
from buildcpg_shared.pipeline.lab_state import read_marker
from buildcpg_shared.pipeline.runner import LabRunner, RunReport
from buildcpg_shared.registry import Lab, Workspace
from buildcpg_shared.store import LabSnapshots
from buildcpg_shared.store.published import sha256_of
from buildcpg_shared.testing import cli_env, copy_workspace, keep_only_labs, run_cli
from conftest import tiny_labs_workspace
from s3_server import s3_in_environment

LAB = "lab1_a"
SECRET = "s3cr3t-lab-state-7d1e"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A real S3 server, its settings in this process's environment too (in-process runs)."""
    with s3_in_environment(monkeypatch, SECRET) as env:
        yield env


def _pair(tmp_path: Path) -> tuple[Workspace, Workspace]:
    """Workspaces A and B with the same tiny lab (one CSV source, ``items_1.csv``); nothing shared."""
    return tiny_labs_workspace(tmp_path / "A", {LAB: []}), tiny_labs_workspace(tmp_path / "B", {LAB: []})


def _drop(ws: Workspace, name: str, ids: range) -> None:
    """A new raw file in the lab of ``ws``."""
    (ws.lab(LAB).paths.raw_dir / name).write_text("id\n" + "".join(f"{i}\n" for i in ids))


def _run(ws: Workspace, **options: object) -> RunReport:
    report = LabRunner(ws.lab(LAB), steps=["check", "load"], echo=False, **options).run()  # type: ignore[arg-type]
    assert report.ok, report.error or [s.detail for s in report.steps]
    return report


def _step(report: RunReport, name: str) -> tuple[str, str]:
    step = report.step(name)
    assert step is not None, [s.name for s in report.steps]
    return str(step.status), step.detail


def _snapshots(ws: Workspace) -> LabSnapshots:
    settings = ws.shared
    assert settings.storage
    return LabSnapshots.from_url(settings.storage, settings.keep_versions)


def _pointer_version(ws: Workspace) -> int | None:
    current = _snapshots(ws).current(LAB)
    return None if current is None else current[0].version


def _ledger(lab: Lab) -> list[tuple[str, str]]:
    """(file, run that loaded it) per ledger row."""
    with duckdb.connect(str(lab.paths.database()), read_only=True) as con:
        rows = con.execute("select file, run_id from _buildcpg.ledger order by file").fetchall()
    return [(str(f), str(r)) for f, r in rows]


def _rows(lab: Lab) -> int:
    with duckdb.connect(str(lab.paths.database()), read_only=True) as con:
        row = con.execute("select count(*) from raw.items").fetchone()
    assert row
    return int(row[0])


def test_b_restores_a_state_loads_only_what_is_new_and_uploads_nothing_unchanged(
    tmp_path: Path, s3: dict[str, str]
) -> None:
    a, b = _pair(tmp_path)
    _drop(a, "items_2.csv", range(2, 5))
    _drop(b, "items_2.csv", range(2, 5))  # the same drop reaches B's raw folder too

    first = _run(a)
    assert _step(first, "restore") == ("skipped", "no snapshot on storage yet")
    assert _step(first, "snapshot")[0] == "ok"
    current = _snapshots(a).current(LAB)
    assert current is not None and current[0].version == 1 and current[0].run_id == first.run_id
    assert current[0].sha256 == sha256_of(a.lab(LAB).paths.database())
    assert current[0].key == f"state/{LAB}/s1.duckdb.gz"
    assert read_marker(a.lab(LAB).paths.state_marker).version == 1  # type: ignore[union-attr]

    # B has no database: it restores A's state first, so its Load finds nothing new
    lab_b = b.lab(LAB)
    assert not lab_b.paths.database().exists()
    on_b = _run(b)
    status, detail = _step(on_b, "restore")
    assert status == "ok" and detail.startswith(f"s1 of run {first.run_id}"), detail
    assert _ledger(lab_b) == [("items_1.csv", first.run_id), ("items_2.csv", first.run_id)]  # all A's loads
    assert on_b.step("load").rows == 0  # type: ignore[union-attr]
    assert _step(on_b, "snapshot") == ("skipped", "unchanged since s1: nothing uploaded")
    assert _snapshots(b).versions(LAB) == [1]

    # a new file on B: only it loads, and B's state goes up as s2
    _drop(b, "items_3.csv", range(5, 7))
    newer = _run(b)
    assert _step(newer, "restore") == ("skipped", "the local database is s1, the newest")
    assert newer.step("load").rows == 2  # type: ignore[union-attr]
    assert _ledger(lab_b)[-1] == ("items_3.csv", newer.run_id) and _rows(lab_b) == 6
    assert _step(newer, "snapshot")[0] == "ok" and _pointer_version(b) == 2

    # an unchanged rerun on B uploads no new snapshot
    again = _run(b)
    assert again.step("load").rows == 0  # type: ignore[union-attr]
    assert _step(again, "snapshot") == ("skipped", "unchanged since s2: nothing uploaded")
    assert _snapshots(b).versions(LAB) == [1, 2]

    # back on A (older, s1): B's s2 comes first, A's own file is moved aside, never deleted
    shutil.copy(lab_b.paths.raw_dir / "items_3.csv", a.lab(LAB).paths.raw_dir / "items_3.csv")
    back = _run(a)
    status, detail = _step(back, "restore")
    assert status == "ok" and detail.startswith(f"s2 of run {newer.run_id}") and "moved aside to" in detail, detail
    assert back.step("load").rows == 0 and _rows(a.lab(LAB)) == 6  # type: ignore[union-attr]
    assert [p.suffix for p in a.lab(LAB).paths.damaged_dir.iterdir()] == [".duckdb"]


def test_an_emptied_storage_gets_the_state_again_from_an_unchanged_run(tmp_path: Path, s3: dict[str, str]) -> None:
    import boto3

    a, _ = _pair(tmp_path)
    _run(a)
    bucket, prefix = s3["BUILDCPG_STORAGE"].removeprefix("s3://").split("/", 1)
    client = boto3.client("s3")
    for name in (f"state/{LAB}/CURRENT.json", f"state/{LAB}/s1.duckdb.gz"):
        client.delete_object(Bucket=bucket, Key=f"{prefix}/{name}")
    again = _run(a)  # nothing changed locally, but storage lost the state: it goes up again
    assert _step(again, "restore") == ("skipped", "no snapshot on storage yet")
    assert _step(again, "snapshot")[0] == "ok" and _pointer_version(a) == 1


def test_a_rebuild_never_restores(tmp_path: Path, s3: dict[str, str]) -> None:
    a, b = _pair(tmp_path)
    first = _run(a)
    rebuilt = _run(b, rebuild=True)
    assert rebuilt.step("restore") is None
    assert _ledger(b.lab(LAB)) == [("items_1.csv", rebuilt.run_id)]  # built from B's own raw files
    assert first.run_id != rebuilt.run_id and _pointer_version(b) == 2  # and its state goes up


class _Proxy:
    """A TCP proxy on 127.0.0.1 in front of the S3 server: ``rate`` caps what clients send (bytes/s),
    ``down`` cuts every connection (storage unreachable) until it is set back."""

    def __init__(self, target: str) -> None:
        host, port = target.removeprefix("http://").split(":")
        self.target = (host, int(port))
        self.rate: float | None = None
        self.down = False
        self.sent = 0  # bytes clients sent through the proxy
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            server = socket.create_connection(self.target)
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        try:
            while not self.down and (data := src.recv(16 * 1024)):
                if upstream and self.rate:
                    time.sleep(len(data) / self.rate)
                if self.down:
                    break
                dst.sendall(data)
                if upstream:
                    self.sent += len(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                sock.close()

    def close(self) -> None:
        self.closed.set()
        self.listener.close()


@pytest.fixture
def proxy(s3: dict[str, str]) -> Iterator[_Proxy]:
    through = _Proxy(s3["AWS_ENDPOINT_URL"])
    yield through
    through.close()


def test_storage_down_during_the_snapshot_passes_with_a_warning_runs_and_status_show(
    tmp_path: Path, s3: dict[str, str], proxy: _Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = _pair(tmp_path)
    _run(a)  # s1
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    _drop(a, "items_2.csv", range(2, 4))

    def storage_dies_after_load(runner: LabRunner) -> None:
        finish = runner.reporter.finish_step

        def finish_step(step):  # type: ignore[no-untyped-def]
            proxy.down = proxy.down or step.name == "load"  # restore read the pointer; now storage is gone
            return finish(step)

        runner.reporter.finish_step = finish_step  # type: ignore[method-assign]

    outcome = run_lab(a.lab(LAB), before_run=storage_dies_after_load, steps=["check", "load"], echo=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3["AWS_ENDPOINT_URL"])  # this test reads storage directly again
    report = outcome.report
    assert report.status == "warn" and report.step("load").rows == 2  # type: ignore[union-attr]
    status, detail = _step(report, "snapshot")
    assert status == "warn" and "not snapshotted: storage s3://" in detail and "cannot reach" in detail, detail
    assert report.error.startswith("snapshot failed: not snapshotted: storage s3://")
    assert outcome.record is not None  # recorded in the history

    runs = json.loads(run_cli(a.root, "runs", LAB, "--json", **s3).stdout)
    assert runs[0]["status"] == "warn" and "snapshot failed" in runs[0]["error"]
    status_out = json.loads(run_cli(a.root, "status", "--json", **s3).stdout)
    assert [h["state"] for h in status_out if h["lab"] == LAB] == ["warn"]
    assert _pointer_version(a) == 1 and read_marker(a.lab(LAB).paths.state_marker).version == 1  # type: ignore[union-attr]

    # storage is back: the next good run snapshots what the failed one could not
    assert _step(_run(a), "snapshot")[0] == "ok" and _pointer_version(a) == 2
    for row in runs:
        assert SECRET not in json.dumps(row)


def test_storage_down_before_the_run_fails_before_check_in_one_line(tmp_path: Path, s3: dict[str, str]) -> None:
    from alert_servers import free_port

    a, _ = _pair(tmp_path)
    _run(a)
    _drop(a, "items_2.csv", range(2, 4))
    down = {**s3, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}  # nothing listens there
    failed = run_cli(a.root, "run", LAB, "--no-sync", "--steps", "check,load", **down)
    assert failed.returncode != 0
    out = failed.stdout + failed.stderr
    line = (
        f"lab state not restored, the run stops before Check: storage {s3['BUILDCPG_STORAGE']}: "
        f"cannot read state/{LAB}/CURRENT.json: cannot reach {down['AWS_ENDPOINT_URL']}"
    )
    assert line in out, out
    assert SECRET not in out and "Traceback" not in out
    last = json.loads(a.lab(LAB).paths.last_run_file.read_text())
    assert last["status"] == "failed" and last["steps"] == []  # Check never ran
    assert [f for f, _ in _ledger(a.lab(LAB))] == ["items_1.csv"]


def test_a_snapshot_that_does_not_match_its_checksum_is_never_restored(tmp_path: Path, s3: dict[str, str]) -> None:
    import boto3

    a, b = _pair(tmp_path)
    _run(a)
    bucket, prefix = s3["BUILDCPG_STORAGE"].removeprefix("s3://").split("/", 1)
    damaged = zlib.compress(b"not the lab database", 1, 31)  # a valid gzip of the wrong bytes
    boto3.client("s3").put_object(Bucket=bucket, Key=f"{prefix}/state/{LAB}/s1.duckdb.gz", Body=damaged)
    report = LabRunner(b.lab(LAB), steps=["check", "load"], echo=False).run()
    assert report.status == "failed" and report.steps == []
    assert report.error.startswith("lab state not restored, the run stops before Check: storage s3://")
    assert f"state/{LAB}/s1.duckdb.gz does not match the checksum" in report.error and "\n" not in report.error
    assert sorted(p.name for p in b.lab(LAB).paths.data_dir.iterdir()) == [".buildcpg.lock", "last_run.json", "raw"]


def _start(ws: Workspace, env: dict[str, str]) -> subprocess.Popen[str]:
    """The lab process itself (``buildcpg-lab run``), so SIGKILL hits the run, not a parent."""
    lab_dir = str(ws.lab(LAB).paths.root)
    return subprocess.Popen(
        [sys.executable, "-m", "buildcpg_shared.cli.lab", "--lab-dir", lab_dir, "run", "--steps", "check,load"],
        env=cli_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX")
def test_sigkill_mid_upload_never_moves_the_pointer_and_b_restores_the_last_good(
    tmp_path: Path, s3: dict[str, str], proxy: _Proxy
) -> None:
    a, b = _pair(tmp_path)
    good = _run(a)  # s1
    big = a.lab(LAB).paths.raw_dir / "items_big.csv"
    duckdb.sql(f"copy (select (random() * 2e9)::int as id from range(600000)) to '{big}' (header true)")
    shutil.copy(big, b.lab(LAB).paths.raw_dir / big.name)

    proxy.rate = 400_000  # bytes/s: the snapshot's upload takes seconds
    run = _start(a, {**s3, "AWS_ENDPOINT_URL": proxy.url})
    deadline = time.monotonic() + 120
    while proxy.sent < 300_000 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)  # the only large request is the snapshot object's PUT
    assert run.poll() is None, "the run ended before its upload was under way"
    run.send_signal(signal.SIGKILL)
    out, _ = run.communicate(timeout=30)
    assert run.returncode == -signal.SIGKILL
    assert " load " in out  # the run was good up to its snapshot

    snapshots = _snapshots(a)
    current = snapshots.current(LAB)
    assert current is not None and current[0].version == 1 and current[0].run_id == good.run_id
    assert snapshots.versions(LAB) == [1]  # no partial object, and the pointer never named one
    assert read_marker(a.lab(LAB).paths.state_marker).version == 1  # type: ignore[union-attr]

    # B takes the lab at once: it restores the last good state (s1) and loads only what is new to it
    on_b = _run(b)
    assert _step(on_b, "restore")[1].startswith(f"s1 of run {good.run_id}")
    assert _ledger(b.lab(LAB)) == [("items_1.csv", good.run_id), ("items_big.csv", on_b.run_id)]
    assert _step(on_b, "snapshot")[0] == "ok" and _pointer_version(b) == 2


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX")
def test_sigkill_mid_run_leaves_the_last_good_snapshot_for_b(tmp_path: Path, s3: dict[str, str]) -> None:
    """A run killed before it ends (here mid-Load of a big file) snapshots nothing: B restores the last good."""
    a, b = _pair(tmp_path)
    good = _run(a)
    big = a.lab(LAB).paths.raw_dir / "items_big.csv"
    duckdb.sql(f"copy (select range as id from range(4000000)) to '{big}' (header true)")
    run = _start(a, s3)
    assert run.stdout is not None
    for line in run.stdout:
        if " check " in line:  # Check is done (it hashed the big file); Load is under way
            break
    time.sleep(0.3)
    run.send_signal(signal.SIGKILL)
    run.communicate(timeout=30)
    assert run.returncode == -signal.SIGKILL
    assert [f for f, _ in _ledger(a.lab(LAB))] == ["items_1.csv"], "the kill came too late"
    assert _snapshots(a).versions(LAB) == [1] and _pointer_version(a) == 1

    on_b = _run(b)
    assert _step(on_b, "restore")[1].startswith(f"s1 of run {good.run_id}")
    assert _ledger(b.lab(LAB)) == [("items_1.csv", good.run_id)] and on_b.step("load").rows == 0  # type: ignore[union-attr]


LAB1 = "lab1_sales_performance"


def _lab1_copy(lab1_workspace: Path, root: Path) -> Workspace:
    """A copy of the lab 1 workspace sharing the session's synced lab venv (same code, no second sync)."""
    copy_workspace(lab1_workspace, root)
    keep_only_labs(root, [LAB1])
    venv = root / "labs" / LAB1 / ".venv"
    shutil.rmtree(venv, ignore_errors=True)
    venv.symlink_to(lab1_workspace / "labs" / LAB1 / ".venv", target_is_directory=True)
    return Workspace(root)


def _july(ws: Workspace) -> None:
    """A new month of sales: June's lines with new ids and July dates."""
    raw = ws.lab(LAB1).paths.raw_dir
    june = (raw / "sales_2026_06.csv").read_text()
    (raw / "sales_2026_07.csv").write_text(june.replace(",2026-06-", ",2026-07-").replace("T0000", "T9000"))


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX")
def test_lab1_with_real_dbt_killed_mid_transform_on_a_then_b_restores_and_loads_only_the_new_month(
    lab1_workspace: Path, tmp_path: Path, s3: dict[str, str]
) -> None:
    a, b = _lab1_copy(lab1_workspace, tmp_path / "A"), _lab1_copy(lab1_workspace, tmp_path / "B")
    first = run_cli(a.root, "run", LAB1, "--no-sync", **s3)
    assert first.returncode == 0, first.stdout + first.stderr
    good = json.loads(a.lab(LAB1).paths.last_run_file.read_text())
    assert [s["name"] for s in good["steps"]][-2:] == ["publish", "snapshot"]
    assert _snapshots(a).current(LAB1)[0].run_id == good["run_id"]  # type: ignore[index]

    _july(a)
    _july(b)
    lab_a = a.lab(LAB1)
    run = subprocess.Popen(
        [str(lab_a.paths.venv_python), "-m", "buildcpg_shared.cli.lab", "--lab-dir", str(lab_a.paths.root), "run"],
        env=cli_env(**s3),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert run.stdout is not None
    seen = []
    for line in run.stdout:
        seen.append(line)
        if re.search(r"\[\s*\d+/\d+\] ", line):  # dbt finished its first model: Transform is under way
            break
    run.send_signal(signal.SIGKILL)
    run.communicate(timeout=60)
    assert run.returncode == -signal.SIGKILL, "".join(seen)
    assert any(" load " in line for line in seen) and not any(" transform " in line for line in seen), seen
    snapshots = _snapshots(a)
    assert snapshots.versions(LAB1) == [1] and snapshots.current(LAB1)[0].run_id == good["run_id"]  # type: ignore[index]

    # B, with no database, takes the lab: A's last good state first, then only July loads
    took = run_cli(b.root, "run", LAB1, "--no-sync", **s3)
    assert took.returncode == 0, took.stdout + took.stderr
    on_b = json.loads(b.lab(LAB1).paths.last_run_file.read_text())
    steps = {s["name"]: s for s in on_b["steps"]}
    assert steps["restore"]["detail"].startswith(f"s1 of run {good['run_id']}")
    assert steps["load"]["detail"].startswith("1 file(s) loaded"), steps["load"]
    assert steps["transform"]["status"] != "skipped" and steps["snapshot"]["status"] == "ok"
    with duckdb.connect(str(b.lab(LAB1).paths.database()), read_only=True) as con:
        loaded = dict(con.execute("select file, run_id from _buildcpg.ledger").fetchall())
    assert loaded.pop("sales_2026_07.csv") == on_b["run_id"]
    assert set(loaded.values()) == {good["run_id"]}  # everything else: A's good run, restored
    assert snapshots.versions(LAB1) == [1, 2] and snapshots.current(LAB1)[0].run_id == on_b["run_id"]  # type: ignore[index]

    # back on A (another checkout path, the same files): B's state comes first and dbt has nothing to do
    back = run_cli(a.root, "run", LAB1, "--no-sync", **s3)
    assert back.returncode == 0, back.stdout + back.stderr
    steps = {s["name"]: s for s in json.loads(lab_a.paths.last_run_file.read_text())["steps"]}
    assert steps["restore"]["detail"].startswith(f"s2 of run {on_b['run_id']}"), steps["restore"]
    assert steps["load"]["rows"] == 0, steps["load"]
    assert steps["transform"]["detail"].startswith("up to date"), steps["transform"]
    assert steps["snapshot"]["detail"] == "unchanged since s2: nothing uploaded", steps["snapshot"]


def test_embedded_runs_no_snapshot_code(tmp_path: Path) -> None:
    """Without storage: no store client, no marker, no restore or snapshot record, as before."""
    a = tiny_labs_workspace(tmp_path / "A", {LAB: []})
    script = (
        "import sys\nfrom pathlib import Path\n"
        "from buildcpg_shared.pipeline.runner import LabRunner\n"
        "from buildcpg_shared.registry import Workspace\n"
        f"lab = Workspace(Path({str(a.root)!r})).lab({LAB!r})\n"
        "r = LabRunner(lab, steps=['check', 'load'], echo=False).run()\n"
        "print(r.status, [s.name for s in r.steps], 'boto3' in sys.modules)\n"
    )
    env = {k: v for k, v in cli_env().items() if not k.startswith("AWS_")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok", "['check',", "'load']", "False"]
    assert not a.lab(LAB).paths.state_marker.exists()
