"""A real HTTP server on 127.0.0.1 in front of the moto S3 server, for faults moto cannot make itself.

moto enforces no quota and never answers ``SlowDown``, and a killed client's upload cannot be held
"in flight" on purpose. This proxy forwards every request to the S3 server as it is (headers, body,
the client's ``Host`` and signature untouched) except the uploads a test picks, which it either
answers with the error XML a real S3-compatible store sends (``QuotaExceeded`` from Ceph RGW and
other quota-enforcing stores, ``EntityTooLarge``, ``503 SlowDown``), or forwards half-way and then
holds, so the test can kill the uploading process mid-upload while the server has part of the body.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade"}
ERRORS = {  # code: (HTTP status, the message a real store sends)
    "QuotaExceeded": (403, "The quota for this bucket has been exceeded."),
    "EntityTooLarge": (400, "Your proposed upload exceeds the maximum allowed object size."),
    "SlowDown": (503, "Please reduce your request rate."),
}


@dataclass
class Fault:
    """What the proxy does to a PUT whose path contains ``key_part``: answer ``error`` or ``stall``."""

    key_part: str
    error: str | None = None  # a code of ERRORS: answered without forwarding
    stall: bool = False  # forward half the body, then hold until the client goes away


class S3Proxy:
    """The proxy's address and what it does; ``stalled`` is set once an upload is held mid-body."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.fault: Fault | None = None
        self.stalled = threading.Event()
        self.answered: list[str] = []  # error codes answered, one per request
        self.url = ""


def _handler(proxy: S3Proxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _fault(self) -> Fault | None:
            fault = proxy.fault
            if fault and self.command == "PUT" and fault.key_part in self.path:
                return fault
            return None

        def _error(self, code: str, length: int) -> None:
            self.rfile.read(length)
            status, message = ERRORS[code]
            body = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
                f"<Resource>{self.path.split('?')[0]}</Resource><RequestId>proxy</RequestId></Error>"
            ).encode()
            proxy.answered.append(code)
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            fault = self._fault()
            if fault and fault.error:
                self._error(fault.error, length)
                return
            upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=120)
            try:
                upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    if name.lower() not in _HOP:
                        upstream.putheader(name, value)
                upstream.endheaders()
                if fault and fault.stall:
                    upstream.send(self.rfile.read(length // 2))  # the server has half the body now
                    proxy.stalled.set()
                    self.rfile.read(length - length // 2)  # returns when the client is gone (killed)
                    self.close_connection = True
                    return  # the upstream upload is cut short below: never completed
                remaining = length
                while remaining:
                    chunk = self.rfile.read(min(remaining, 1 << 20))
                    if not chunk:
                        return
                    upstream.send(chunk)
                    remaining -= len(chunk)
                answer = upstream.getresponse()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in _HOP:
                        self.send_header(name, value)
                body_length = answer.getheader("Content-Length")
                if body_length is None:
                    data = answer.read()
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.end_headers()
                while chunk := answer.read(1 << 20):
                    self.wfile.write(chunk)
            except (OSError, http.client.HTTPException):
                self.close_connection = True
            finally:
                upstream.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

    return Handler


@contextmanager
def s3_proxy(upstream: str) -> Iterator[S3Proxy]:
    """A started proxy on a free port of 127.0.0.1 in front of ``upstream`` (an ``http://host:port`` URL)."""
    proxy = S3Proxy(upstream)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
