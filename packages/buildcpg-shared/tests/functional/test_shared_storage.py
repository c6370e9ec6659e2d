"""Published gold on object storage (issue 23, items 2 and 3) against a real S3 API: moto's server on
127.0.0.1. Two workspace copies, A and B, share nothing but that server."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.errors import StaleWriterError
from buildcpg_shared.pipeline.runner import LabRunner
from buildcpg_shared.registry import Workspace
from buildcpg_shared.store import SharedGold
from buildcpg_shared.store.published import POINTER, NextVersion, version_name
from buildcpg_shared.testing import run_cli
from conftest import tiny_labs_workspace
from s3_server import s3_in_environment

UP, READER = "lab1_a", "lab4_d"
SECRET = "s3cr3t-Do-Not-Print-9f2c"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A real S3 server, its settings in this process's environment too (in-process runs and readers)."""
    with s3_in_environment(monkeypatch, SECRET) as env:
        yield env


def _two_copies(tmp_path: Path) -> tuple[Workspace, Workspace]:
    """Workspaces A and B with the same tiny labs (lab4_d reads lab1_a's gold.t), each lab a workspace
    member so ``buildcpg run`` starts it; nothing shared but what the test gives both (the S3 server)."""
    copies = []
    for name in ("A", "B"):
        ws = tiny_labs_workspace(tmp_path / name, {UP: [], READER: [UP]})
        for lab in ws.labs():
            (lab.paths.root / "pyproject.toml").write_text(f'[project]\nname = "{lab.name.replace("_", "-")}"\n')
        copies.append(ws)
    return copies[0], copies[1]


def _publish(ws: Workspace, rows: int) -> dict[str, object]:
    """A real run of lab1_a on ``ws`` that publishes ``rows`` gold rows: Check + Load of a new raw file,
    gold made from raw (no dbt in a tiny lab), then the Publish step. The Publish step's data."""
    lab = ws.lab(UP)
    (lab.paths.raw_dir / f"items_{rows}.csv").write_text("id\n" + "".join(f"{i}\n" for i in range(rows)))
    assert LabRunner(lab, steps=["check", "load"], echo=False).run().status == "ok"
    with duckdb.connect(str(lab.paths.database())) as con:
        con.execute("create schema if not exists gold")
        con.execute(f"create or replace table gold.t as select range as id from range({rows})")
    report = LabRunner(lab, steps=["publish"], echo=False).run()
    step = report.step("publish")  # with storage, a lab state snapshot step follows it
    assert step is not None and report.status == "ok", report.error
    return step.data


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _gold(ws: Workspace) -> SharedGold:
    settings = ws.shared
    assert settings.storage
    return SharedGold.from_url(settings.storage, settings.keep_versions)


def _served(path: Path) -> tuple[int, int]:
    """(version, gold rows) of a serving copy."""
    with duckdb.connect(str(path), read_only=True) as con:
        version = con.execute("select version from main._buildcpg_version").fetchone()
        rows = con.execute("select count(*) from gold.t").fetchone()
    assert version and rows
    return int(version[0]), int(rows[0])


def test_b_pulls_and_reads_exactly_the_version_a_published(tmp_path: Path, s3: dict[str, str]) -> None:
    a, b = _two_copies(tmp_path)
    published = _publish(a, rows=3)
    assert published["key"] == version_name(UP, 1)
    assert published["sha256"] == _sha(a.lab(UP).paths.serving_file)  # the very file A serves

    pulled = tmp_path / "bi" / "lab1.duckdb"
    done = run_cli(b.root, "pull", UP, "--to", str(pulled), **s3)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{UP} v1" in done.stdout
    assert _sha(pulled) == published["sha256"] and _served(pulled) == (1, 3)
    assert [p.name for p in pulled.parent.iterdir()] == ["lab1.duckdb"]  # no temporary left

    # B's reader lab: its input resolves through the pointer; B has no serving copy of lab1_a at all
    assert not b.lab(UP).paths.serving_file.exists()
    reader = b.lab(READER)
    report = LabRunner(reader, steps=["check", "load"], echo=False).run()
    assert report.status == "ok", report.error or [s.detail for s in report.steps]
    cached = reader.paths.data_dir / ".inputs" / UP / "v1.duckdb"
    assert _sha(cached) == published["sha256"]
    with duckdb.connect(str(reader.paths.database()), read_only=True) as con:
        assert con.execute("select lab, version from _buildcpg.input_versions").fetchall() == [(UP, 1)]
        assert con.execute("select count(*) from inputs.from_lab1_a").fetchone() == (3,)

    _publish(a, rows=5)  # a new version on A: B's next run takes it, and only it
    assert LabRunner(reader, steps=["check", "load"], echo=False).run().status == "ok"
    with duckdb.connect(str(reader.paths.database()), read_only=True) as con:
        assert con.execute("select lab, version from _buildcpg.input_versions").fetchall() == [(UP, 2)]
        assert con.execute("select count(*) from inputs.from_lab1_a").fetchone() == (5,)
    assert sorted(p.name for p in cached.parent.iterdir()) == ["v2.duckdb"]


def test_a_reader_on_b_polling_during_three_publishes_never_sees_a_mix(tmp_path: Path, s3: dict[str, str]) -> None:
    a, b = _two_copies(tmp_path)
    _publish(a, rows=1)
    gold = _gold(b)
    target = tmp_path / "bi" / "lab1.duckdb"
    seen: list[tuple[int, int, int]] = []  # (pointer version, file version, rows)
    errors: list[BaseException] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            try:
                pointer = gold.pull(UP, target)  # pointer, then that version; checksum checked
                seen.append((pointer.version, *_served(target)))
            except BaseException as err:  # a mix would raise (checksum) or show below
                errors.append(err)
                return

    thread = threading.Thread(target=poll)
    thread.start()
    try:
        rows_of = {1: 1}
        for version, rows in ((2, 20_000), (3, 30_000), (4, 40_000)):
            assert _publish(a, rows=rows)["version"] == version
            rows_of[version] = rows
        # the reader keeps polling until it has seen the last publish (it may be mid-pull of v3 now)
        deadline = time.monotonic() + 60
        while thread.is_alive() and not any(v == 4 for v, _, _ in seen) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not errors, errors
    assert {v for v, _, _ in seen} >= {4} and len(seen) >= 3
    for pointer_version, file_version, rows in seen:
        assert pointer_version == file_version and rows == rows_of[file_version]
    assert [v for v, _, _ in seen] == sorted(v for v, _, _ in seen)  # never back


def test_a_stale_or_slower_writer_never_moves_the_pointer_back(tmp_path: Path, s3: dict[str, str]) -> None:
    a, _ = _two_copies(tmp_path)
    gold = _gold(a)
    serving = a.lab(UP).paths.serving_file
    _publish(a, rows=1)
    stale = gold.next_version(UP)  # a writer that read the pointer at v1, then was slow
    _publish(a, rows=2)  # v2 moves the pointer meanwhile
    assert stale.version == 2

    with pytest.raises(StaleWriterError, match=r"^storage s3://\S+: serving/lab1_a/v2\.duckdb exists already$"):
        gold.publish(UP, serving, run_id="stale", next_version=stale)  # its number is taken: create-only
    older_etag = NextVersion(3, stale.etag)  # a free number, but the pointer it read is old: If-Match
    with pytest.raises(StaleWriterError) as lost:
        gold.publish(UP, serving, run_id="stale", next_version=older_etag)
    assert str(lost.value).count("\n") == 0
    assert "lab1_a v3 not published: another writer moved serving/lab1_a/CURRENT.json meanwhile" in str(lost.value)
    current = gold.current(UP)
    assert current is not None and current[0].version == 2 and current[0].run_id != "stale"
    assert gold.versions(UP) == [1, 2]  # the loser's object is gone: nothing names it
    first_ever = NextVersion(3, None)  # a writer that believes nothing was published: create-only pointer
    with pytest.raises(StaleWriterError):
        gold.publish(UP, serving, run_id="stale", next_version=first_ever)
    assert gold.current(UP)[0].version == 2  # type: ignore[index]


def test_pruning_keeps_the_newest_and_never_the_current_one(tmp_path: Path, s3: dict[str, str]) -> None:
    a, _ = _two_copies(tmp_path)
    (a.root / "buildcpg.yaml").write_text("shared:\n  keep_versions: 2\n")
    gold = _gold(a)
    assert gold.keep_versions == 2
    for rows in (1, 2, 3, 4):
        _publish(a, rows=rows)
    assert gold.versions(UP) == [3, 4]
    assert gold.current(UP)[0].version == 4  # type: ignore[index]
    # an object above the pointer (another writer about to name it) is never pruned
    gold.store.upload_new(version_name(UP, 9), a.lab(UP).paths.serving_file)
    one = SharedGold(gold.store, keep_versions=1)
    assert one.prune(UP, 4) == [3]
    assert one.versions(UP) == [4, 9]


def test_storage_unreachable_fails_publish_and_pull_in_one_line_nothing_partial(
    tmp_path: Path, s3: dict[str, str]
) -> None:
    from alert_servers import free_port

    a, b = _two_copies(tmp_path)
    _publish(a, rows=1)
    down = {**s3, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}  # nothing listens there
    lab = a.lab(UP)
    (lab.paths.raw_dir / "items_9.csv").write_text("id\n9\n")
    assert run_cli(a.root, "run", UP, "--no-sync", "--steps", "check,load", **s3).returncode == 0
    failed = run_cli(a.root, "run", UP, "--no-sync", "--steps", "publish", **down)
    assert failed.returncode != 0
    out = failed.stdout + failed.stderr
    # lab state follows the lab: the run reads the state pointer first and stops there, before Check
    where = f"storage {s3['BUILDCPG_STORAGE']}: cannot read state/{UP}/{POINTER}"
    assert f"{where}: cannot reach {down['AWS_ENDPOINT_URL']}" in out, out
    assert SECRET not in out

    gold = _gold(a)
    assert gold.current(UP)[0].version == 1 and gold.versions(UP) == [1]  # type: ignore[index]
    assert _served(lab.paths.serving_file)[0] == 1  # the local copy was not replaced either

    pulled = tmp_path / "bi" / "lab1.duckdb"
    refused = run_cli(b.root, "pull", UP, "--to", str(pulled), **down)
    assert refused.returncode == 2
    assert refused.stderr.strip().count("\n") == 0 and "cannot reach" in refused.stderr
    assert not pulled.parent.exists() or not any(pulled.parent.iterdir())


def test_the_secret_never_reaches_output_history_or_logs(tmp_path: Path, s3: dict[str, str]) -> None:
    from alert_servers import free_port

    a, b = _two_copies(tmp_path)
    lab = a.lab(UP)
    assert run_cli(a.root, "run", UP, "--no-sync", "--steps", "check,load", **s3).returncode == 0
    with duckdb.connect(str(lab.paths.database())) as con:
        con.execute("create schema gold; create table gold.t as select 1 as id")
    outputs = [run_cli(a.root, "run", UP, "--no-sync", "--steps", "publish", **s3)]
    assert outputs[0].returncode == 0, outputs[0].stdout + outputs[0].stderr
    down = {**s3, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    (lab.paths.raw_dir / "items_2.csv").write_text("id\n2\n")
    outputs += [
        run_cli(a.root, "run", UP, "--no-sync", "--steps", "check,load,publish", **down),  # fails at Publish
        run_cli(b.root, "pull", UP, "--to", str(tmp_path / "x.duckdb"), **s3),
        run_cli(b.root, "pull", UP, "--to", str(tmp_path / "y.duckdb"), **down),
        run_cli(b.root, "run", READER, "--no-sync", "--steps", "check,load", **down),  # its input: storage down
        run_cli(b.root, "doctor", **down),
    ]
    assert [o.returncode == 0 for o in outputs] == [True, False, True, False, False, False]
    for done in outputs:
        assert SECRET not in done.stdout + done.stderr
    files = [p for ws in (a, b) for p in ws.root.rglob("*") if p.is_file() and ".venv" not in p.parts]
    written = [p for p in files if p.suffix in (".sqlite", ".log", ".json", ".jsonl", ".txt", ".duckdb")]
    assert any(p.name == "history.sqlite" for p in written) and any(p.suffix == ".log" for p in written)
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), path


def test_doctor_checks_the_storage_connection(tmp_path: Path, s3: dict[str, str]) -> None:
    from alert_servers import free_port

    a, _ = _two_copies(tmp_path)
    ok = run_cli(a.root, "doctor", **s3)
    assert f"✓ storage {s3['BUILDCPG_STORAGE']} answers" in ok.stdout, ok.stdout + ok.stderr
    down = run_cli(a.root, "doctor", **{**s3, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"})
    assert f"✗ storage {s3['BUILDCPG_STORAGE']}: cannot reach the bucket: cannot reach" in down.stdout
    missing = run_cli(a.root, "doctor", **{**s3, "AWS_SECRET_ACCESS_KEY": ""})
    assert "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set" in missing.stdout


def test_without_storage_nothing_talks_to_storage(tmp_path: Path) -> None:
    """The embedded default: publish and inputs as before, and boto3 is never imported."""
    a = tiny_labs_workspace(tmp_path / "A", {UP: [], READER: [UP]})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BUILDCPG_", "AWS_"))}
    script = (
        "import sys\nfrom pathlib import Path\nimport duckdb\n"
        "from buildcpg_shared.pipeline.runner import LabRunner\n"
        "from buildcpg_shared.registry import Workspace\n"
        f"ws = Workspace(Path({str(a.root)!r}))\n"
        f"up = ws.lab({UP!r})\n"
        "assert LabRunner(up, steps=['check', 'load'], echo=False).run().status == 'ok'\n"
        "with duckdb.connect(str(up.paths.database())) as con:\n"
        "    con.execute('create schema gold; create table gold.t as select 1 as id')\n"
        "assert LabRunner(up, steps=['publish'], echo=False).run().status == 'ok'\n"
        f"r = LabRunner(ws.lab({READER!r}), steps=['check', 'load'], echo=False).run()\n"
        "assert r.status == 'ok', r.error\n"
        "print('boto3' in sys.modules)\n"
    )
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    assert not (a.lab(READER).paths.data_dir / ".inputs").exists()


def test_a_version_that_does_not_match_its_checksum_is_never_used(tmp_path: Path, s3: dict[str, str]) -> None:
    """An object changed behind the platform's back: pull refuses it in one line and PATH stays as it was."""
    import boto3

    a, b = _two_copies(tmp_path)
    _publish(a, rows=2)
    pulled = tmp_path / "bi" / "lab1.duckdb"
    assert run_cli(b.root, "pull", UP, "--to", str(pulled), **s3).returncode == 0
    before = _sha(pulled)
    bucket, prefix = s3["BUILDCPG_STORAGE"].removeprefix("s3://").split("/", 1)
    boto3.client("s3").put_object(Bucket=bucket, Key=f"{prefix}/{version_name(UP, 1)}", Body=b"not the published file")
    refused = run_cli(b.root, "pull", UP, "--to", str(pulled), **s3)
    assert refused.returncode == 2
    assert f"{version_name(UP, 1)} does not match the checksum" in refused.stderr
    assert refused.stderr.strip().count("\n") == 0
    assert _sha(pulled) == before and sorted(p.name for p in pulled.parent.iterdir()) == ["lab1.duckdb"]
