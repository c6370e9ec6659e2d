"""HTTP sources: poll a JSON API and land its records as a CSV file under ``data/raw/_http/<source>/``.

A poll fetches every page first and lands them all at once (written as ``.part``, then renamed), so a
failed page lands nothing. The landed file then goes through the same Check/Load path as any CSV:
header and type contract, quarantine, ledger. The incremental cursor (the largest value of
``cursor_field`` loaded so far) is stored in the ledger entry of each landed file, committed with
its rows; the next poll sends it as ``cursor_param``. Secrets come from env vars and are never printed,
and the credential header goes only to the configured origin (never along a redirect to another host).
"""

from __future__ import annotations

import csv
import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from buildcpg_shared.config import HttpConfig, SourceConfig
from buildcpg_shared.errors import HttpSourceError
from buildcpg_shared.ingest.ledger import LedgerEntry

HTTP_DIR = "_http"
_RETRY_STATUS = {429, 500, 502, 503, 504}


def landing_dir(raw_dir: Path, name: str) -> Path:
    """Where the records of HTTP source ``name`` land (inside data/raw, matched by its file glob)."""
    return raw_dir / HTTP_DIR / name


def last_cursor(name: str, ledger: Mapping[str, LedgerEntry]) -> str | None:
    """The cursor stored with the most recent loaded landing of a source (None before the first)."""
    entries = sorted((e for e in ledger.values() if e.source == name and e.cursor is not None), key=lambda e: e.file)
    return entries[-1].cursor if entries else None


def unloaded_landings(raw_dir: Path, name: str, ledger: Mapping[str, LedgerEntry]) -> list[Path]:
    """Landed files of a source that are not in the ledger yet (the next load takes them first)."""
    folder = landing_dir(raw_dir, name)
    if not folder.is_dir():
        return []
    return [p for p in sorted(folder.glob("*.csv")) if p.relative_to(raw_dir).as_posix() not in ledger]


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


class _SameOriginCredentials(urllib.request.HTTPRedirectHandler):
    """Follows redirects, but sends the credential header only to the configured origin.

    urllib's default handler copies every header to wherever a redirect points, so a token would
    reach any host the API (or anyone who can make it redirect) names. A redirect to another
    scheme, host or port is followed without the header, as curl and requests do.
    """

    def __init__(self, origin: tuple[str, str, int | None], header: str) -> None:
        self.origin = origin
        self.header = header.lower()

    def redirect_request(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(newurl) != self.origin:
            for store in (new.headers, new.unredirected_hdrs):
                for key in [k for k in store if k.lower() == self.header]:
                    del store[key]
        return new


def _dig(body: Any, path: str) -> Any:
    value = body
    for key in [k for k in path.split(".") if k]:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


class HttpPoller:
    """Fetches the new records of one HTTP source, page by page, with retries and backoff."""

    def __init__(self, name: str, source: SourceConfig, environ: Mapping[str, str] | None = None) -> None:
        if source.http is None:
            raise HttpSourceError(f"source {name!r} is not an http source")
        self.name = name
        self.source = source
        self.http: HttpConfig = source.http
        self.environ = os.environ if environ is None else environ
        redirects = _SameOriginCredentials(_origin(self.http.url), self.http.auth_header)
        self._opener = urllib.request.build_opener(redirects)

    def _headers(self, url: str) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "buildcpg"}
        if self.http.auth_env and _origin(url) == _origin(self.http.url):  # e.g. a next link to another host
            token = self.environ.get(self.http.auth_env)
            if not token:
                raise HttpSourceError(
                    f"source {self.name!r}: env var {self.http.auth_env} is not set (it holds the API token)"
                )
            headers[self.http.auth_header] = f"{self.http.auth_prefix}{token}"
        return headers

    def _get(self, url: str, page: int) -> Any:
        """One page as parsed JSON, retrying 5xx/429, connection errors and timeouts with backoff."""
        where = f"source {self.name!r}: page {page} of {url.split('?')[0]}"
        request = urllib.request.Request(url, headers=self._headers(url))
        attempts = self.http.retries + 1
        problem = ""
        for attempt in range(attempts):
            if attempt:
                time.sleep(self.http.backoff * 2 ** (attempt - 1))
            try:
                with self._opener.open(request, timeout=self.http.timeout) as response:
                    payload = response.read()
            except urllib.error.HTTPError as err:
                if err.code in (401, 403):
                    env = self.http.auth_env
                    token = f"; the token in env var {env} is expired or invalid" if env else ""
                    raise HttpSourceError(f"{where}: HTTP {err.code} {err.reason}{token}") from None
                if err.code not in _RETRY_STATUS:
                    raise HttpSourceError(f"{where}: HTTP {err.code} {err.reason}") from None
                problem = f"HTTP {err.code} {err.reason}"
                continue
            except TimeoutError:
                problem = f"timed out after {self.http.timeout:g}s"
                continue
            except urllib.error.URLError as err:
                if isinstance(err.reason, TimeoutError | socket.timeout):
                    problem = f"timed out after {self.http.timeout:g}s"
                else:
                    problem = f"cannot connect ({err.reason})"
                continue
            try:
                return json.loads(payload)
            except ValueError as err:
                raise HttpSourceError(f"{where}: not valid JSON ({err.msg} at char {err.pos})") from None
        raise HttpSourceError(f"{where}: {problem} ({attempts} attempt(s)); nothing landed")

    def _records(self, body: Any, page: int) -> list[dict[str, Any]]:
        records = _dig(body, self.http.records_path) if self.http.records_path else body
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            path = self.http.records_path or "(the body)"
            raise HttpSourceError(
                f"source {self.name!r}: page {page}: no list of records at records_path {path!r}; nothing landed"
            )
        return records

    def _url(self, base: str, params: dict[str, str]) -> str:
        if not params:
            return base
        return base + ("&" if "?" in base else "?") + urllib.parse.urlencode(params)

    def fetch(self, cursor: str | None) -> list[dict[str, Any]]:
        """Every record newer than ``cursor`` (all pages), or an HttpSourceError naming the page."""
        params = dict(self.http.params)
        if cursor is not None and self.http.cursor_param:
            params[self.http.cursor_param] = cursor
        paging = self.http.pagination
        records: list[dict[str, Any]] = []
        url: str | None = self.http.url
        for index in range(paging.max_pages):
            page = index + 1
            page_params = dict(params)
            if paging.type == "page":
                page_params[paging.page_param] = str(paging.start + index)
            assert url is not None
            body = self._get(self._url(url, page_params if index == 0 or paging.type == "page" else {}), page)
            batch = self._records(body, page)
            records += batch
            if paging.type == "none":
                break
            if paging.type == "page" and not batch:
                break
            if paging.type == "next_link":
                following = _dig(body, paging.next_path)
                if not following:
                    break
                url = urllib.parse.urljoin(url, str(following))
        return records

    def land(self, records: list[dict[str, Any]], raw_dir: Path) -> Path | None:
        """Write records as one CSV in the contract's column order (atomic rename); None when empty."""
        if not records:
            return None
        folder = landing_dir(raw_dir, self.name)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        final = folder / f"{stamp}.csv"
        part = final.with_suffix(".csv.part")
        fields = [spec.from_ or name for name, spec in self.source.columns.items()]  # a column's `from` names its field
        with part.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter=self.source.delimiter)
            writer.writerow(fields)
            for record in records:
                writer.writerow([_cell(record.get(f)) for f in fields])
        os.replace(part, final)
        return final

    def poll(self, raw_dir: Path, ledger: Mapping[str, LedgerEntry]) -> Path | None:
        """Fetch from the last loaded cursor and land the records; skip while a landing waits to load."""
        if unloaded_landings(raw_dir, self.name, ledger):
            return None
        return self.land(self.fetch(last_cursor(self.name, ledger)), raw_dir)
