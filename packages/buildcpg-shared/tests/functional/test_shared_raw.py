"""Raw drops on storage (issue 23, item 4): a source's ``files:`` is an ``s3://`` glob, against a real S3
API (moto's server on 127.0.0.1). The tiny lab's contract (a bad amount, a bad date, a primary key)
applies to objects exactly as to local files. No ``shared.storage`` is set: raw drops need none."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
from buildcpg_shared.errors import StorageError
from buildcpg_shared.ingest.ledger import read_ledger
from buildcpg_shared.ingest.load import load_file
from buildcpg_shared.ingest.s3_raw import DOWNLOADS
from buildcpg_shared.local_servers import s3_server
from buildcpg_shared.pipeline.run_report import RunReport
from buildcpg_shared.pipeline.runner import LabRunner
from buildcpg_shared.registry import Lab, Workspace
from buildcpg_shared.store import ObjectStore
from buildcpg_shared.store.objects import list_objects
from buildcpg_shared.testing import run_cli
from conftest import TINY_LAB_YAML, plan_load

LAB = "lab9_tiny"
SECRET = "raw-s3cr3t-Never-Shown-41d7"
PREFIX = "drops/orders_"
FIRST = "order_id,order_date,amount\nA1,2026-01-01,10.50\nA2,2026-01-02,oops\nA3,2026-02-30,3.00\nA4,2026-01-04,4.25\n"
SECOND = "order_id,order_date,amount\nB1,2026-02-01,1.00\nB2,2026-02-02,2.00\nB3,2026-02-03,3.00\n"
THIRD = "order_id,order_date,amount\nC1,2026-03-01,7.00\n"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A real S3 server with a fresh bucket (``BUCKET``); its AWS settings in this process's environment."""
    with s3_server(secret=SECRET) as env:
        monkeypatch.delenv("BUILDCPG_STORAGE", raising=False)
        for key, value in env.items():
            if key.startswith("AWS_"):
                monkeypatch.setenv(key, value)
        yield {**env, "BUCKET": env.pop("BUILDCPG_STORAGE").removeprefix("s3://").split("/")[0]}


def _client(s3: dict[str, str]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=s3["AWS_ENDPOINT_URL"],
        aws_access_key_id=s3["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=s3["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )


def _put(s3: dict[str, str], key: str, body: str | bytes) -> str:
    """Upload an object (as a producer would); its ETag."""
    data = body.encode() if isinstance(body, str) else body
    return str(_client(s3).put_object(Bucket=s3["BUCKET"], Key=key, Body=data)["ETag"])


def _bucket(s3: dict[str, str]) -> dict[str, str]:
    """Every object of the bucket with its ETag (to prove a run changed none)."""
    pages = _client(s3).get_paginator("list_objects_v2").paginate(Bucket=s3["BUCKET"])
    return {o["Key"]: o["ETag"] for page in pages for o in page.get("Contents", [])}


def _url(s3: dict[str, str], name: str) -> str:
    return f"s3://{s3['BUCKET']}/{PREFIX}{name}"


def _lab(tmp_path: Path, s3: dict[str, str], bucket: str | None = None) -> Lab:
    """The tiny lab whose source ``orders`` reads ``s3://<bucket>/drops/orders_*.csv`` (nothing in data/raw)."""
    root = tmp_path / "ws"
    lab_dir = root / "labs" / LAB
    (lab_dir / "data" / "raw").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = ["labs/*"]\n')
    glob = f"s3://{bucket or s3['BUCKET']}/{PREFIX}*.csv"
    (lab_dir / "lab.yaml").write_text(TINY_LAB_YAML.replace('files: "orders*.csv"', f'files: "{glob}"'))
    (lab_dir / "pyproject.toml").write_text('[project]\nname = "lab9-tiny"\n')  # a member: `buildcpg run` runs it
    python = lab_dir / ".venv" / "bin" / "python"  # its "venv": this test's Python (nothing to sync)
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    return Workspace(root).lab(LAB)


def _run(lab: Lab) -> RunReport:
    return LabRunner(lab, steps=["check", "load"], echo=False).run()


def _rows(lab: Lab) -> list[tuple[str, str]]:
    """(order_id, _source_file) of raw.orders."""
    with duckdb.connect(str(lab.paths.database()), read_only=True) as con:
        return con.execute("select order_id, _source_file from raw.orders order by order_id").fetchall()


def _ledger(lab: Lab) -> dict[str, str | None]:
    with duckdb.connect(str(lab.paths.database()), read_only=True) as con:
        return {file: entry.etag for file, entry in read_ledger(con).items()}


def _no_download_left(lab: Lab) -> bool:
    folder = lab.paths.data_dir / DOWNLOADS
    return not folder.exists() or not any(folder.iterdir())


def test_objects_load_once_then_only_the_new_and_the_changed_one(tmp_path: Path, s3: dict[str, str]) -> None:
    etags = {"1": _put(s3, f"{PREFIX}1.csv", FIRST), "2": _put(s3, f"{PREFIX}2.csv", SECOND)}
    _put(s3, f"{PREFIX}notes.txt", "not a csv")  # listed (same prefix) but not matched
    _put(s3, "elsewhere/orders_9.csv", SECOND)  # outside the glob
    _put(s3, f"{PREFIX}3.csv.part", "half an upl")  # a partial name (not matched by the glob either)
    lab = _lab(tmp_path, s3)
    bucket = _bucket(s3)

    first = _run(lab)
    assert first.status == "warn", first.steps  # two rows break the contract: quarantined, as for a local file
    load = first.step("load")
    assert load is not None and load.data["errors"] == [] and load.rows == 5
    assert _rows(lab) == [
        ("A1", _url(s3, "1.csv")),
        ("A4", _url(s3, "1.csv")),
        ("B1", _url(s3, "2.csv")),
        ("B2", _url(s3, "2.csv")),
        ("B3", _url(s3, "2.csv")),
    ]
    with duckdb.connect(str(lab.paths.database()), read_only=True) as con:
        assert con.execute("select file, line from quarantine.orders order by line").fetchall() == [
            (_url(s3, "1.csv"), 3),
            (_url(s3, "1.csv"), 4),
        ]
    assert _ledger(lab) == {_url(s3, "1.csv"): etags["1"], _url(s3, "2.csv"): etags["2"]}
    assert _no_download_left(lab)

    second = _run(lab)  # nothing new: nothing is downloaded, nothing loaded
    check = second.step("check")
    assert check is not None and check.data["pending"] == [] and "0 new, 0 changed, 2 unchanged" in check.detail
    assert second.step("load").rows == 0  # type: ignore[union-attr]
    assert _bucket(s3) == bucket  # the runs changed and deleted no object

    etags["2"] = _put(s3, f"{PREFIX}2.csv", SECOND.replace("3.00", "3.50"))  # changed: a new ETag
    etags["3"] = _put(s3, f"{PREFIX}3.csv", THIRD)  # new
    bucket = _bucket(s3)
    third = _run(lab)
    assert third.step("check").data["pending"] == [_url(s3, "2.csv"), _url(s3, "3.csv")]  # type: ignore[union-attr]
    assert third.step("load").rows == 4  # type: ignore[union-attr]
    assert [r[0] for r in _rows(lab)] == ["A1", "A4", "B1", "B2", "B3", "C1"]
    with duckdb.connect(str(lab.paths.database()), read_only=True) as con:
        assert con.execute("select amount::varchar from raw.orders where order_id = 'B3'").fetchall() == [("3.50",)]
    assert _ledger(lab) == {_url(s3, n + ".csv"): etags[n] for n in ("1", "2", "3")}
    assert _bucket(s3) == bucket  # no object changed or deleted by any run
    assert _no_download_left(lab)


def test_an_object_replaced_between_check_and_load_records_what_was_loaded(tmp_path: Path, s3: dict[str, str]) -> None:
    _put(s3, f"{PREFIX}2.csv", SECOND)
    lab = _lab(tmp_path, s3)
    with duckdb.connect(str(lab.paths.database())) as con:
        plan = plan_load(lab, con)  # Check lists the first version...
        newer = _put(s3, f"{PREFIX}2.csv", THIRD)  # ...and a producer replaces it before Load
        [raw] = plan.pending
        assert raw.etag != newer
        loaded = load_file(con, raw, lab.config.sources["orders"], "r1")
        assert loaded.note == f"{_url(s3, '2.csv')}: replaced since Check listed it; loaded the version there now"
        assert loaded.rows == 1
        assert con.execute("select order_id from raw.orders").fetchall() == [("C1",)]
        assert read_ledger(con)[_url(s3, "2.csv")].etag == newer  # the GET's version, not the listing's
    assert _no_download_left(lab)
    assert _run(lab).step("check").data["pending"] == []  # type: ignore[union-attr]


def test_an_object_deleted_between_check_and_load_is_one_line_and_the_next_run_recovers(
    tmp_path: Path, s3: dict[str, str]
) -> None:
    _put(s3, f"{PREFIX}2.csv", SECOND)
    lab = _lab(tmp_path, s3)
    assert _run(lab).status == "ok"
    _put(s3, f"{PREFIX}2.csv", THIRD)  # changed: pending again
    with duckdb.connect(str(lab.paths.database())) as con:
        plan = plan_load(lab, con)
        _client(s3).delete_object(Bucket=s3["BUCKET"], Key=f"{PREFIX}2.csv")  # gone before Load gets it
        with pytest.raises(StorageError) as gone:
            load_file(con, plan.pending[0], lab.config.sources["orders"], "r2")
    line = str(gone.value)
    assert line == f"{_url(s3, '2.csv')}: deleted since Check listed it; not loaded, its previous rows kept"
    assert [r[0] for r in _rows(lab)] == ["B1", "B2", "B3"]  # the rows loaded before stay
    assert _no_download_left(lab)

    after = _run(lab)  # the next run sees it gone: reported removed, rows kept, the run passes
    assert after.status == "ok", after.steps
    assert after.step("check").data["removed"] == [_url(s3, "2.csv")]  # type: ignore[union-attr]
    assert [r[0] for r in _rows(lab)] == ["B1", "B2", "B3"]


def test_the_cli_names_objects_by_url_and_a_fault_in_one_line(tmp_path: Path, s3: dict[str, str]) -> None:
    from alert_servers import free_port

    _put(s3, f"{PREFIX}1.csv", FIRST)
    lab = _lab(tmp_path, s3)
    root = lab.paths.root.parent.parent
    env = {k: v for k, v in s3.items() if k.startswith("AWS_")}
    checked = run_cli(root, "check", LAB, **env)
    assert checked.returncode == 1, checked.stdout + checked.stderr  # something to load
    assert f"  new      {_url(s3, '1.csv')}  (orders)" in checked.stdout
    assert run_cli(root, "run", LAB, "--no-sync", "--steps", "check,load", **env).returncode == 0

    down = {**env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    glob = lab.config.sources["orders"].files
    line = f"source orders: cannot list {glob}: cannot reach {down['AWS_ENDPOINT_URL']}"
    for command in (["check", LAB], ["run", LAB, "--no-sync", "--steps", "check,load"]):
        failed = run_cli(root, *command, **down)
        out = failed.stdout + failed.stderr
        assert failed.returncode != 0 and line in out and SECRET not in out, out
        assert "Traceback" not in out
    assert len(_rows(lab)) == 2


def test_a_download_that_cannot_be_written_is_one_line(tmp_path: Path, s3: dict[str, str]) -> None:
    _put(s3, f"{PREFIX}2.csv", SECOND)
    lab = _lab(tmp_path, s3)
    (lab.paths.data_dir / DOWNLOADS).write_text("a file where the download folder goes")
    failed = _run(lab)
    assert failed.status == "failed"
    assert failed.step("load").data["errors"] == [  # type: ignore[union-attr]
        f"{_url(s3, '2.csv')}: cannot download: could not write {lab.paths.data_dir / DOWNLOADS}: "
        "a file is in the way where a folder must be"
    ]
    (lab.paths.data_dir / DOWNLOADS).unlink()
    assert _run(lab).status == "ok" and len(_rows(lab)) == 3


def _auth(s3: dict[str, str], on: bool) -> None:
    """Make moto check signatures (every key it has not issued is refused), or stop checking."""
    url = f"{s3['AWS_ENDPOINT_URL']}/moto-api/reset-auth"
    body = b"0" if on else b"inf"
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(request, timeout=10).close()


@pytest.mark.parametrize("fault", ["unreachable", "credentials", "no bucket"])
def test_storage_faults_fail_check_in_one_line_and_the_next_run_recovers(
    tmp_path: Path, s3: dict[str, str], monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    from alert_servers import free_port

    _put(s3, f"{PREFIX}1.csv", FIRST)
    lab = _lab(tmp_path, s3, bucket="no-such-bucket-here" if fault == "no bucket" else None)
    if fault != "no bucket":
        assert _run(lab).status == "warn"
        _put(s3, f"{PREFIX}2.csv", SECOND)  # new, but storage fails before it is seen
    before = (_rows(lab), _ledger(lab)) if fault != "no bucket" else None
    glob = lab.config.sources["orders"].files
    if fault == "unreachable":
        down = f"http://127.0.0.1:{free_port()}"
        monkeypatch.setenv("AWS_ENDPOINT_URL", down)
        why = f"cannot reach {down}"
    elif fault == "credentials":
        _auth(s3, on=True)
        why = "credentials refused (AWS_ACCESS_KEY_ID unknown)"
    else:
        why = "no bucket no-such-bucket-here"
    try:
        failed = _run(lab)
    finally:
        if fault == "credentials":
            _auth(s3, on=False)
    check = failed.step("check")
    assert failed.status == "failed" and check is not None
    line = f"source orders: cannot list {glob}: {why}"
    assert check.data["unreadable"] == [line]
    assert check.detail.startswith(line + "; 0 new")
    assert SECRET not in json.dumps(failed.to_dict())
    assert SECRET not in (lab.paths.data_dir / "last_run.json").read_text()
    assert check.data["removed"] == []  # a failed listing never says loaded objects are gone
    if before is not None:
        assert (_rows(lab), _ledger(lab)) == before  # what was loaded stays as it was

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3["AWS_ENDPOINT_URL"])
    if fault == "no bucket":
        _client(s3).create_bucket(Bucket="no-such-bucket-here")
        _client(s3).put_object(Bucket="no-such-bucket-here", Key=f"{PREFIX}1.csv", Body=SECOND.encode())
    recovered = _run(lab)
    assert recovered.status in ("ok", "warn"), recovered.steps
    assert recovered.step("load").data["errors"] == []  # type: ignore[union-attr]
    assert len(_rows(lab)) == (3 if fault == "no bucket" else 5)


def test_listing_reads_every_page(s3: dict[str, str]) -> None:
    for i in range(7):
        _put(s3, f"{PREFIX}{i}.csv", "x\n")
    store = ObjectStore(f"s3://{s3['BUCKET']}")
    listed = list_objects(store, PREFIX, page_size=2)  # four pages
    assert sorted(o.name for o in listed) == [f"{PREFIX}{i}.csv" for i in range(7)]
    assert all(o.etag.startswith('"') and o.size == 2 for o in listed)


_DOWNLOAD_IN_A_CHILD = textwrap.dedent(
    """\
    import json, sys, tracemalloc
    from pathlib import Path
    from buildcpg_shared.ingest.s3_raw import downloaded

    small, big, folder = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    with downloaded(small, "", folder / "small.csv"):  # imports, client and connection warmed up
        pass
    tracemalloc.start()  # every allocation Python makes from here on (the body's bytes included)
    with downloaded(big, "", folder / "big.csv") as got:
        size = got.path.stat().st_size
    print(json.dumps({"peak": tracemalloc.get_traced_memory()[1], "size": size}))
    """
)


def test_a_download_never_holds_the_whole_object_in_memory(tmp_path: Path, s3: dict[str, str]) -> None:
    """A 96 MiB object streamed in a child process (the server's own memory apart): the most memory it
    held at once is far below the object's size. Reading the body whole (``.read()``) holds all of it."""
    size = 96 * 1024 * 1024
    _put(s3, f"{PREFIX}small.csv", "x\n1\n")
    _put(s3, f"{PREFIX}big.csv", b"0123456789abcde\n" * (size // 16))
    env = {k: v for k, v in s3.items() if k.startswith("AWS_")}
    done = subprocess.run(
        [sys.executable, "-c", _DOWNLOAD_IN_A_CHILD, _url(s3, "small.csv"), _url(s3, "big.csv"), str(tmp_path)],
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["size"] == size
    assert seen["peak"] < size / 4, seen
    assert not any(tmp_path.iterdir())  # both downloads removed
