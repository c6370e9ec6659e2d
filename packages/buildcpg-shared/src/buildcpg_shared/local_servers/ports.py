"""Ports on 127.0.0.1 for throwaway servers: a free one, and waiting until one accepts connections."""

from __future__ import annotations

import socket
import time


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, what: str, timeout: float = 60.0) -> None:
    """Return once something accepts connections on 127.0.0.1:``port``; RuntimeError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start on 127.0.0.1:{port} within {timeout:.0f} s")
        time.sleep(0.1)
