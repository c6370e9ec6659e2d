"""sha256 of a published version, computed beside the transfer instead of after it.

hashlib and socket and file I/O release the GIL on large buffers, so a second thread hashes while the
upload (or download) moves the bytes: publishing and pulling cost about what a bare transfer costs,
not a transfer plus a full pass of sha256 (``tools/bench/bench_shared.py``). Memory stays bounded: a
file is hashed from disk in chunks, a download hands at most ``_QUEUED`` chunks to the hasher.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from pathlib import Path
from types import TracebackType

_CHUNK = 8 * 1024 * 1024  # as store.client.CHUNK
_QUEUED = 4


class FileSha256:
    """The sha256 of a file, computed on a thread from the moment the ``with`` block starts."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._digest = hashlib.sha256()
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sha256", daemon=True)

    def _run(self) -> None:
        try:
            with self._path.open("rb") as stream:
                while not self._stop.is_set() and (chunk := stream.read(_CHUNK)):
                    self._digest.update(chunk)
        except BaseException as err:  # handed to the caller by hexdigest()
            self._error = err

    def __enter__(self) -> FileSha256:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # a failed upload does not wait for the rest of the file
        self._thread.join()

    def hexdigest(self) -> str:
        """The checksum, once the thread has read the whole file (it raises what the thread met)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._digest.hexdigest()


class StreamSha256:
    """The sha256 of chunks fed in order, hashed on a thread while the caller fetches the next one."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self._chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUED)
        self._thread = threading.Thread(target=self._run, name="sha256", daemon=True)

    def _run(self) -> None:
        while (chunk := self._chunks.get()) is not None:
            self._digest.update(chunk)

    def __enter__(self) -> StreamSha256:
        self._thread.start()
        return self

    def update(self, chunk: bytes) -> None:
        self._chunks.put(chunk)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._chunks.put(None)
        self._thread.join()

    def hexdigest(self) -> str:
        """The checksum of every chunk fed (call after the ``with`` block, or it ends the stream)."""
        if self._thread.is_alive():
            self._chunks.put(None)
            self._thread.join()
        return self._digest.hexdigest()
