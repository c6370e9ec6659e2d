"""Draw the report's charts: Vega-Lite specs to inline SVG with vl-convert, several at once, each SVG kept in a
small cache keyed by its spec, so a chart whose spec did not change is not drawn again.

Outside a :class:`SvgBatch` a spec is drawn at once. Inside one (``render_report`` opens it), ``draw_svg``
returns a token at once and the chart is drawn on a thread pool (vl-convert releases the GIL while it draws),
while the report reads the next lab; ``SvgBatch.fill`` puts every SVG in place of its token in the page.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

import vl_convert as vlc

# vl-convert draws in its own engine; more threads than cores only wait (at most 4: a report has ~15 charts)
WORKERS = max(1, min(4, os.cpu_count() or 1))
CACHE_KEEP = 400  # the newest SVGs kept in the cache folder (a report of 4 labs draws about 15)
_WARM_UP_SPEC: dict[str, Any] = {"data": {"values": [{"x": 0}]}, "mark": "point", "encoding": {"x": {"field": "x"}}}


def svg_of(spec: dict[str, Any]) -> str:
    """The chart as one inline ``<svg>`` element (drawn now, in this thread)."""
    svg = vlc.vegalite_to_svg(spec)
    return svg[svg.index("<svg") :]


class SvgCache:
    """SVGs by a hash of their Vega-Lite spec and the vl-convert version, one file each under ``folder``; the
    newest ``keep`` stay. A cache: a file it cannot read or write is drawn again, never an error. Safe for
    concurrent reports: a file is written under a temporary name and renamed into place."""

    def __init__(self, folder: Path, keep: int = CACHE_KEEP) -> None:
        self.folder = folder
        self.keep = keep

    @staticmethod
    def key(spec: dict[str, Any]) -> str:
        text = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(f"{vlc.__version__}\n{text}".encode()).hexdigest()

    def get(self, key: str) -> str | None:
        path = self.folder / f"{key}.svg"
        try:
            svg = path.read_text(encoding="utf-8")
            os.utime(path)  # used: pruning keeps it
        except OSError:
            return None
        return svg if svg.startswith("<svg") else None

    def put(self, key: str, svg: str) -> None:
        tmp = self.folder / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp.write_text(svg, encoding="utf-8")
            os.replace(tmp, self.folder / f"{key}.svg")
        except OSError:
            tmp.unlink(missing_ok=True)

    def prune(self) -> None:
        """Remove all but the ``keep`` newest SVGs (another report pruning at the same time is fine)."""
        try:
            files = sorted(self.folder.glob("*.svg"), key=_mtime, reverse=True)
        except OSError:
            return
        for old in files[self.keep :]:
            old.unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


_active: list[SvgBatch] = []  # the batch open in this process (render_report opens one at a time)


def draw_svg(spec: dict[str, Any]) -> str:
    """The SVG of ``spec``; inside an open :class:`SvgBatch`, a token that its ``fill`` replaces by it."""
    return _active[-1].submit(spec) if _active else svg_of(spec)


class SvgBatch:
    """Draw the charts of one report concurrently (``WORKERS`` threads) and through ``cache``.

    Opening it starts vl-convert's engine in the background (about 0.7 s on a first chart), so that start
    overlaps the imports and the reading of the labs instead of delaying the first chart."""

    def __init__(self, cache: SvgCache | None = None, workers: int = WORKERS) -> None:
        self.cache = cache
        self.workers = workers
        self.drawn = 0  # charts drawn by vl-convert (the others came from the cache)
        self._nonce = secrets.token_hex(8)
        self._pending: dict[str, Future[str]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> SvgBatch:
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="report-svg")
        self._pool.submit(svg_of, _WARM_UP_SPEC)
        _active.append(self)
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        _active.remove(self)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=kind is not None)
        if self.cache is not None and kind is None:
            self.cache.prune()

    def submit(self, spec: dict[str, Any]) -> str:
        """Start drawing ``spec`` (or take it from the cache); the token that stands for its SVG."""
        if self._pool is None:
            raise RuntimeError("SvgBatch.submit outside its with block")
        token = f"buildcpg-svg-{self._nonce}-{len(self._pending)}"
        self._pending[token] = self._pool.submit(self._draw, spec)
        return token

    def _draw(self, spec: dict[str, Any]) -> str:
        key = SvgCache.key(spec) if self.cache is not None else ""
        if self.cache is not None and (svg := self.cache.get(key)) is not None:
            return svg
        svg = svg_of(spec)
        with self._lock:
            self.drawn += 1
        if self.cache is not None:
            self.cache.put(key, svg)
        return svg

    def fill(self, text: str) -> str:
        """``text`` with every token replaced by its SVG (waits for the charts still being drawn)."""
        if not self._pending:
            return text
        pattern = re.compile(f"buildcpg-svg-{self._nonce}-[0-9]+")
        return pattern.sub(lambda m: self._pending[m.group(0)].result(), text)
