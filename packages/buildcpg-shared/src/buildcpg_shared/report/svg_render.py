"""Draw the report's charts: Vega-Lite specs to inline SVG with vl-convert, in a process of their own while the
report reads the labs, each SVG kept in a small cache keyed by its spec (a chart whose spec did not change is not
drawn again).

Outside a :class:`SvgBatch` a spec is drawn at once, in this process. Inside one (``render_report`` opens it),
``draw_svg`` returns a token at once; ``SvgBatch.fill`` puts every SVG in place of its token in the page.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import re
import secrets
import subprocess
import sys
import threading
from collections import deque
from concurrent.futures import Future
from contextvars import ContextVar, Token
from pathlib import Path
from types import TracebackType
from typing import Any

import vl_convert as vlc

from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.report.svg_worker import svg_of

CACHE_KEEP = 400  # the newest SVGs kept in the cache folder (a report of 4 labs draws about 15)


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


class DrawingProcess:
    """One ``svg_worker`` process: specs go in a line each (written by a thread, so the caller never waits on
    the pipe), SVGs come back in the same order and settle the futures ``draw`` returned."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "buildcpg_shared.report.svg_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            encoding="utf-8",
        )
        self._waiting: deque[Future[str]] = deque()
        self._ended = False
        self._lock = threading.Lock()
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write, name="report-svg-writer", daemon=True)
        self._reader = threading.Thread(target=self._read, name="report-svg-reader", daemon=True)
        self._writer.start()
        self._reader.start()

    def draw(self, spec: dict[str, Any]) -> Future[str]:
        future: Future[str] = Future()
        with self._lock:
            if self._ended:
                future.set_exception(
                    BuildCPGError(f"the chart drawing process ended (exit code {self._proc.returncode})")
                )
                return future
            self._waiting.append(future)
        self._lines.put(json.dumps(spec) + "\n")
        return future

    def _write(self) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            while (line := self._lines.get()) is not None:
                stdin.write(line)
                stdin.flush()
        except OSError:
            pass  # the process ended: the reader fails what is still waiting
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    def _read(self) -> None:
        stdout = self._proc.stdout
        assert stdout is not None
        try:
            for line in stdout:
                answer = json.loads(line)
                with self._lock:
                    future = self._waiting.popleft()
                if "svg" in answer:
                    future.set_result(answer["svg"])
                else:
                    future.set_exception(BuildCPGError(f"a chart could not be drawn: {answer.get('error')}"))
        except (ValueError, IndexError, OSError):  # not an answer of svg_worker: stop it, fail what waits
            self._proc.kill()
        finally:
            code = self._proc.wait()
            with self._lock:
                left, self._waiting, self._ended = list(self._waiting), deque(), True
            for future in left:
                future.set_exception(BuildCPGError(f"the chart drawing process ended (exit code {code})"))

    def close(self, kill: bool = False) -> None:
        """Let the process finish what it was given and end (``kill``: end it now)."""
        if kill:
            self._proc.kill()
        self._lines.put(None)
        self._writer.join()
        self._reader.join()


# the batch open in this thread of execution (two reports rendered at once in two threads keep theirs apart)
_active: ContextVar[SvgBatch | None] = ContextVar("report_svg_batch", default=None)


def draw_svg(spec: dict[str, Any]) -> str:
    """The SVG of ``spec``; inside an open :class:`SvgBatch`, a token that its ``fill`` replaces by it."""
    batch = _active.get()
    return batch.submit(spec) if batch is not None else svg_of(spec)


class SvgBatch:
    """Draw the charts of one report in a :class:`DrawingProcess` while this process goes on reading the labs.
    The process starts with the batch, so that vl-convert's engine starts while the report's imports load; it
    is ended unused when every chart came from ``cache``."""

    def __init__(self, cache: SvgCache | None = None) -> None:
        self.cache = cache
        self.drawn = 0  # charts drawn by vl-convert (the others came from the cache)
        self._nonce = secrets.token_hex(8)
        self._svgs: dict[str, str | tuple[str, Future[str]]] = {}
        self._process: DrawingProcess | None = None
        self._token: Token[SvgBatch | None] | None = None

    def __enter__(self) -> SvgBatch:
        self._process = DrawingProcess()
        self._token = _active.set(self)
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        if self._token is not None:
            _active.reset(self._token)
        if self._process is not None:
            self._process.close(kill=kind is not None or not self.drawn)
        if self.cache is not None and kind is None:
            self.cache.prune()

    def submit(self, spec: dict[str, Any]) -> str:
        """The token that stands for the SVG of ``spec``: taken from the cache, else drawn from now on."""
        token = f"buildcpg-svg-{self._nonce}-{len(self._svgs)}"
        key = SvgCache.key(spec) if self.cache is not None else ""
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            self._svgs[token] = cached
        else:
            if self._process is None:
                raise RuntimeError("SvgBatch.submit outside its with block")
            self._svgs[token] = (key, self._process.draw(spec))
            self.drawn += 1
        return token

    def _svg(self, token: str) -> str:
        found = self._svgs[token]
        if isinstance(found, str):
            return found
        key, future = found
        svg = future.result()
        if self.cache is not None:
            self.cache.put(key, svg)
        self._svgs[token] = svg
        return svg

    def fill(self, text: str) -> str:
        """``text`` with every token replaced by its SVG (waits for the charts still being drawn)."""
        if not self._svgs:
            return text
        return re.sub(f"buildcpg-svg-{self._nonce}-[0-9]+", lambda m: self._svg(m.group(0)), text)
