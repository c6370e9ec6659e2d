"""HTTP sources against a real HTTP server on 127.0.0.1 (started here, in a thread): pages, cursor,
retries on 500s, timeouts, a bad page, an expired token. Records land as a CSV and load through the
same ledger/contract path as any raw file."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pytest
from buildcpg_shared.config import SourceConfig
from buildcpg_shared.errors import HttpSourceError
from buildcpg_shared.ingest import ledger
from buildcpg_shared.ingest.http_source import HttpPoller, last_cursor
from buildcpg_shared.ingest.load import ensure_tables, load_file
from buildcpg_shared.ingest.monitor import CSVMonitor
from buildcpg_shared.registry import Lab
from buildcpg_shared.testing import run_lab_copy

TOKEN = "s3cret-token-value"
RECORDS = [{"id": i, "sku": f"SKU-{i}", "qty": i * 2, "meta": {"src": "api"}} for i in range(1, 8)]


class Api:
    """What the fake-free test server does: real HTTP, scripted failures."""

    def __init__(self) -> None:
        self.failures: list[int] = []  # statuses to answer before succeeding
        self.delay = 0.0
        self.bad_page: int | None = None
        self.token = TOKEN
        self.requests: list[str] = []
        self.redirect_to = ""  # /v1/moved answers 302 to this URL (plus the query)

    def page(self, query: dict[str, str], path: str = "") -> tuple[int, bytes]:
        if path.startswith("/v1/linked"):  # next_link paging: 3 records a page, then a link to the rest
            after = int(query.get("after", "0"))
            items = [r for r in RECORDS if r["id"] > after][:3]
            following = f"/v1/linked?after={items[-1]['id']}" if items and items[-1]["id"] < RECORDS[-1]["id"] else None
            return 200, json.dumps({"data": {"items": items}, "links": {"next": following}}).encode()
        since = int(query.get("since", "0"))
        page = int(query.get("page", "1"))
        if self.bad_page == page:
            return 200, b'{"data": {"items": [ {"id": 1,'
        items = [r for r in RECORDS if r["id"] > since]
        chunk = items[(page - 1) * 3 : page * 3]
        return 200, json.dumps({"data": {"items": chunk}}).encode()


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """A real HTTP server on 127.0.0.1 (a free port) in a thread, for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def api() -> Iterator[tuple[Api, str]]:
    state = Api()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            if self.path.startswith("/v1/moved") and state.redirect_to:
                self.send_response(302)
                self.send_header("Location", state.redirect_to + self.path[len("/v1/moved") :])
                self.end_headers()
                return
            if state.delay:
                time.sleep(state.delay)
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                self.send_response(401)
                self.end_headers()
                return
            if state.failures:
                self.send_response(state.failures.pop(0))
                self.end_headers()
                return
            parts = urllib.parse.urlsplit(self.path)
            status, body = state.page(dict(urllib.parse.parse_qsl(parts.query)), parts.path)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with _serving(Handler) as port:
        yield state, f"http://127.0.0.1:{port}/v1/items"


def _source(url: str, **http: Any) -> SourceConfig:
    return SourceConfig.model_validate(
        {
            "type": "http",
            "primary_key": ["id"],
            "columns": {
                "id": {"type": "INTEGER", "required": True},
                "sku": "VARCHAR",
                "qty": "INTEGER",
                "meta": "JSON",
            },
            "http": {
                "url": url,
                "records_path": "data.items",
                "auth_env": "ITEMS_TOKEN",
                "pagination": {"type": "page"},
                "cursor_field": "id",
                "cursor_param": "since",
                "timeout": 0.5,
                "retries": 2,
                "backoff": 0.01,
                **http,
            },
        }
    )


def _poll_and_load(source: SourceConfig, raw_dir: Path, con: duckdb.DuckDBPyConnection) -> Path | None:
    ledger.ensure_ledger(con)
    ensure_tables(con, "items", source)
    known = ledger.read_ledger(con)
    landed = HttpPoller("items", source, {"ITEMS_TOKEN": TOKEN}).poll(raw_dir, known)
    config_like = type("C", (), {"sources": {"items": source}})()
    plan = CSVMonitor(raw_dir, config_like, interval=0).check(known)  # type: ignore[arg-type]
    for raw in plan.pending:
        load_file(con, raw, source, "r")
    return landed


def test_pages_land_load_and_cursor_makes_the_next_poll_incremental(api: tuple[Api, str], tmp_path: Path) -> None:
    state, url = api
    source = _source(url)
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    first = _poll_and_load(source, raw_dir, con)
    assert first is not None and first.parent == raw_dir / "_http" / "items"
    assert con.execute("select count(*), max(id) from raw.items").fetchone() == (7, 7)
    assert con.execute("select meta->>'src' from raw.items limit 1").fetchone() == ("api",)
    assert last_cursor("items", ledger.read_ledger(con)) == "7"
    assert [r for r in state.requests if "page=" in r][:3] == [
        "/v1/items?page=1",
        "/v1/items?page=2",
        "/v1/items?page=3",
    ]
    RECORDS.append({"id": 8, "sku": "SKU-8", "qty": 16, "meta": None})
    try:
        state.requests.clear()
        assert _poll_and_load(source, raw_dir, con) is not None
    finally:
        RECORDS.pop()
    assert state.requests[0] == "/v1/items?since=7&page=1"
    assert con.execute("select count(*), count(distinct id) from raw.items").fetchone() == (8, 8)
    assert last_cursor("items", ledger.read_ledger(con)) == "8"
    assert _poll_and_load(source, raw_dir, con) is None  # nothing new: nothing landed


def test_next_link_pagination_follows_links_until_none(api: tuple[Api, str]) -> None:
    state, url = api
    source = _source(
        url.replace("/v1/items", "/v1/linked"), pagination={"type": "next_link", "next_path": "links.next"}
    )
    records = HttpPoller("items", source, {"ITEMS_TOKEN": TOKEN}).fetch(None)
    assert [r["id"] for r in records] == list(range(1, 8))
    assert state.requests == ["/v1/linked", "/v1/linked?after=3", "/v1/linked?after=6"]


def test_500s_are_retried_then_succeed(api: tuple[Api, str], tmp_path: Path) -> None:
    state, url = api
    state.failures = [500, 503]
    records = HttpPoller("items", _source(url), {"ITEMS_TOKEN": TOKEN}).fetch(None)
    assert [r["id"] for r in records] == list(range(1, 8))


def test_500s_past_the_retries_fail_with_one_line_and_land_nothing(api: tuple[Api, str], tmp_path: Path) -> None:
    state, url = api
    state.failures = [500, 500, 500]
    poller = HttpPoller("items", _source(url), {"ITEMS_TOKEN": TOKEN})
    with pytest.raises(HttpSourceError) as info:
        poller.poll(tmp_path, {})
    assert str(info.value) == (
        f"source 'items': page 1 of {url}: HTTP 500 Internal Server Error (3 attempt(s)); nothing landed"
    )
    assert not (tmp_path / "_http").exists()


def test_timeout_is_retried_then_reported(api: tuple[Api, str], tmp_path: Path) -> None:
    state, url = api
    state.delay = 1.0
    poller = HttpPoller("items", _source(url, retries=1, timeout=0.2), {"ITEMS_TOKEN": TOKEN})
    with pytest.raises(HttpSourceError, match=r"page 1 of .*: timed out after 0.2s \(2 attempt\(s\)\); nothing landed"):
        poller.poll(tmp_path, {})


def test_bad_page_lands_nothing(api: tuple[Api, str], tmp_path: Path) -> None:
    state, url = api
    state.bad_page = 2
    poller = HttpPoller("items", _source(url), {"ITEMS_TOKEN": TOKEN})
    with pytest.raises(HttpSourceError, match=r"page 2 of .*: not valid JSON"):
        poller.poll(tmp_path, {})
    assert not list(tmp_path.rglob("*.csv*"))


def test_expired_token_names_the_env_var_never_the_token(api: tuple[Api, str], tmp_path: Path) -> None:
    state, url = api
    state.token = "a-newer-token"
    poller = HttpPoller("items", _source(url), {"ITEMS_TOKEN": TOKEN})
    with pytest.raises(HttpSourceError) as info:
        poller.poll(tmp_path, {})
    message = str(info.value)
    assert "HTTP 401" in message and "env var ITEMS_TOKEN is expired or invalid" in message
    assert TOKEN not in message and state.token not in message
    missing = HttpPoller("items", _source(url), {})
    with pytest.raises(HttpSourceError, match="env var ITEMS_TOKEN is not set"):
        missing.poll(tmp_path, {})


def test_lab_run_polls_and_loads_http_source(
    api: tuple[Api, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url = api
    lab_dir = tmp_path / "src" / "lab9_api"
    (lab_dir / "data" / "raw").mkdir(parents=True)
    (lab_dir / "dbt").mkdir()
    (lab_dir / "pyproject.toml").write_text('[project]\nname = "lab9-api"\nversion = "0"\n')
    (lab_dir / "lab.yaml").write_text(
        "name: lab9_api\nsources:\n  items:\n    type: http\n    primary_key: [id]\n"
        "    columns: {id: INTEGER, sku: VARCHAR, qty: INTEGER, meta: JSON}\n"
        f"    http: {{url: '{url}', records_path: data.items, auth_env: ITEMS_TOKEN, pagination: {{type: page}},"
        " cursor_field: id, cursor_param: since, backoff: 0.01}\n"
    )
    monkeypatch.setenv("ITEMS_TOKEN", TOKEN)
    lab, report = run_lab_copy(lab_dir, tmp_path / "run", steps=["check", "load"])
    assert report.ok, report.error
    assert isinstance(lab, Lab)
    with duckdb.connect(str(lab.paths.database()), read_only=True) as con:
        assert con.execute("select count(*) from raw.items").fetchone() == (7,)


@pytest.fixture
def other_origin() -> Iterator[tuple[list[dict[str, str]], str]]:
    """A second server (another port: another origin) that records the headers it was sent."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(dict(self.headers.items()))
            body = json.dumps({"data": {"items": RECORDS[:2]}}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with _serving(Handler) as port:
        yield seen, f"http://127.0.0.1:{port}/elsewhere"


def test_token_is_not_sent_along_a_redirect_to_another_origin(
    api: tuple[Api, str], other_origin: tuple[list[dict[str, str]], str]
) -> None:
    state, url = api
    seen, elsewhere = other_origin
    state.redirect_to = elsewhere
    source = _source(url.replace("/v1/items", "/v1/moved"), pagination={"type": "none"})
    records = HttpPoller("items", source, {"ITEMS_TOKEN": TOKEN}).fetch(None)
    assert [r["id"] for r in records] == [1, 2]  # the redirect was followed ...
    assert len(seen) == 1
    assert not any(k.lower() == "authorization" for k in seen[0])  # ... without the credentials
    assert all(TOKEN not in v for v in seen[0].values())


def test_token_follows_a_redirect_within_the_configured_origin(api: tuple[Api, str]) -> None:
    state, url = api
    state.redirect_to = url  # same scheme, host and port
    source = _source(url.replace("/v1/items", "/v1/moved"), pagination={"type": "none"})
    records = HttpPoller("items", source, {"ITEMS_TOKEN": TOKEN}).fetch(None)
    assert [r["id"] for r in records] == [1, 2, 3]  # the server checks the token on /v1/items
    assert state.requests == ["/v1/moved", "/v1/items"]


def test_a_column_can_take_its_values_from_another_record_field(api: tuple[Api, str], tmp_path: Path) -> None:
    _, url = api
    source = SourceConfig.model_validate(
        {
            "type": "http",
            "columns": {
                "id": "INTEGER",
                "product": {"type": "VARCHAR", "from": "sku"},
                "quantity": {"type": "INTEGER", "from": "qty"},
            },
            "http": {"url": url, "records_path": "data.items", "auth_env": "ITEMS_TOKEN"},
        }
    )
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    _poll_and_load(source, raw_dir, con)
    assert con.execute("select id, product, quantity from raw.items order by id limit 2").fetchall() == [
        (1, "SKU-1", 2),
        (2, "SKU-2", 4),
    ]
