"""A source's ``files:`` as an ``s3://`` glob (issue 23, item 4): the lab.yaml form, the matching, and a
ledger from before ``etag`` existed. The real listing and loading: tests/functional/test_shared_raw.py."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml
from buildcpg_shared.config import load_lab_config
from buildcpg_shared.config.s3_glob import S3Glob
from buildcpg_shared.errors import ConfigError, StorageError
from buildcpg_shared.ingest import ledger
from buildcpg_shared.ingest.s3_raw import list_source
from buildcpg_shared.pipeline.dbt_sources import expected_sources
from buildcpg_shared.registry import LabPaths


def _lab_yaml(tmp_path: Path, tiny_lab_yaml: str, files: str, extra: str = "") -> Path:
    path = tmp_path / "lab9_tiny" / "lab.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(tiny_lab_yaml.replace('files: "orders*.csv"', f'files: "{files}"{extra}'))
    return path


def test_an_s3_glob_is_a_valid_remote_source(tmp_path: Path, tiny_lab_yaml: str) -> None:
    config = load_lab_config(_lab_yaml(tmp_path, tiny_lab_yaml, "s3://raw-drops/team/orders_*.csv"))
    source = config.sources["orders"]
    assert source.remote and source.files == "s3://raw-drops/team/orders_*.csv"
    local = load_lab_config(_lab_yaml(tmp_path, tiny_lab_yaml, "orders*.csv")).sources["orders"]
    assert not local.remote


@pytest.mark.parametrize(
    ("files", "extra", "expected"),
    [
        (
            "s3:/raw-drops/orders_*.csv",
            "",
            "'s3:/raw-drops/orders_*.csv' is not an s3:// URL (s3://bucket/prefix/*.csv)",
        ),
        ("gs://raw-drops/*.csv", "", "only s3:// URLs name objects on storage, not gs://"),
        ("s3:///orders_*.csv", "", "'s3:///orders_*.csv' names no bucket"),
        ("s3://Raw_Drops/*.csv", "", "'Raw_Drops' is not a bucket name"),
        ("s3://raw-*/x.csv", "", "'raw-*' is not a bucket name"),
        ("s3://raw-drops", "", "names no objects: end it with a key glob"),
        ("s3://raw-drops/team/", "", "names no objects: end it with a key glob"),
        ("s3://raw-drops/team//*.csv", "", "has an empty path segment"),
        ("s3://raw-drops/*.csv", "\n    marker: _SUCCESS", "marker: an s3:// source lists complete objects only"),
        ("s3://raw-drops/*.csv", "\n    settle: 5", "settle: an s3:// source lists complete objects only"),
    ],
)
def test_a_bad_s3_glob_is_one_line_naming_the_key(
    tmp_path: Path, tiny_lab_yaml: str, files: str, extra: str, expected: str
) -> None:
    path = _lab_yaml(tmp_path, tiny_lab_yaml, files, extra)
    with pytest.raises(ConfigError) as info:
        load_lab_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: sources.orders")
    assert expected in message and "\n" not in message


@pytest.mark.parametrize(
    ("pattern", "prefix", "yes", "no"),
    [
        (
            "drops/orders_*.csv",
            "drops/orders_",
            ["drops/orders_1.csv", "drops/orders_.csv"],
            ["drops/orders_1.txt", "drops/x/orders_1.csv", "drops/orders_a/b.csv"],
        ),
        (
            "drops/*/day_?.csv",
            "drops/",
            ["drops/2026/day_1.csv"],
            ["drops/day_1.csv", "drops/a/b/day_1.csv", "drops/a/day_10.csv"],
        ),
        ("drops/**/*.csv", "drops/", ["drops/a.csv", "drops/a/b/c.csv"], ["other/a.csv", "drops/a.csvx"]),
        ("drops/[ab]_[!x].csv", "drops/", ["drops/a_1.csv", "drops/b_y.csv"], ["drops/c_1.csv", "drops/a_x.csv"]),
        ("exact/key.csv", "exact/key.csv", ["exact/key.csv"], ["exact/key.csv.bak", "exact/keyXcsv"]),
    ],
)
def test_the_glob_matches_whole_keys_segment_by_segment(
    pattern: str, prefix: str, yes: list[str], no: list[str]
) -> None:
    glob = S3Glob.parse(f"s3://raw-drops/{pattern}")
    assert glob.list_prefix == prefix
    assert [k for k in yes if glob.matches(k)] == yes
    assert [k for k in no if glob.matches(k)] == []
    assert glob.object_url(yes[0]) == f"s3://raw-drops/{yes[0]}"


def test_a_ledger_from_before_etags_keeps_working() -> None:
    """A ledger written before ``cursor`` and ``etag`` existed reads (no ETag) and gains the column on use."""
    con = duckdb.connect()
    con.execute("create schema _buildcpg")
    con.execute(
        "create table _buildcpg.ledger (source varchar not null, file varchar not null, size bigint not null, "
        "mtime_ns bigint not null, sha256 varchar not null, rows bigint not null, rejected bigint not null, "
        "loaded_at timestamp not null, run_id varchar, primary key (source, file))"
    )
    con.execute("insert into _buildcpg.ledger values ('orders', 'orders_1.csv', 3, 4, 'abc', 2, 0, now(), 'r0')")
    assert ledger.read_ledger(con)["orders_1.csv"].etag is None
    ledger.ensure_ledger(con)
    url = "s3://raw-drops/orders_2.csv"
    ledger.record(con, ledger.LedgerEntry("orders", url, 5, 6, "def", 1, 0, None, '"e1"'), "r1")
    known = ledger.read_ledger(con)
    assert known["orders_1.csv"].sha256 == "abc" and known["orders_1.csv"].etag is None
    assert known[url].etag == '"e1"'


def test_dbt_sources_name_the_objects_not_data_raw(tmp_path: Path, tiny_lab_yaml: str) -> None:
    lab = tmp_path / "labs" / "lab9_tiny"
    (lab / "dbt").mkdir(parents=True)
    (lab / "lab.yaml").write_text(tiny_lab_yaml.replace('files: "orders*.csv"', 'files: "s3://raw-drops/o_*.csv"'))
    table = yaml.safe_load(expected_sources(LabPaths.for_dir(lab)))["sources"][0]["tables"][0]
    assert "Files: s3://raw-drops/o_*.csv." in table["description"] and "data/raw" not in table["description"]
    source_file = next(c for c in table["columns"] if c["name"] == "_source_file")
    assert source_file["description"] == "Object the row was loaded from: its s3:// URL."


def test_listing_without_credentials_is_one_line_naming_the_glob() -> None:
    with pytest.raises(StorageError) as info:
        list_source("orders", "s3://raw-drops/o_*.csv", env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert str(info.value) == (
        "source orders: cannot list s3://raw-drops/o_*.csv: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set "
        "(credentials come from the environment only)"
    )
