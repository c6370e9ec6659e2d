"""A real S3 API on 127.0.0.1: moto's server mode, in a thread (tests) or its own process (benchmarks).

moto is a dev dependency: it is imported only when a server starts."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from buildcpg_shared.local_servers.ports import free_port, wait_for_port


@contextmanager
def _moto(port: int, own_process: bool) -> Iterator[None]:
    if own_process:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, "moto")
            yield
        finally:
            server.terminate()
            server.wait(timeout=30)
        return
    from moto.server import ThreadedMotoServer

    threaded = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    threaded.start()
    try:
        yield
    finally:
        threaded.stop()


@contextmanager
def s3_server(
    secret: str = "test-secret-key", *, bucket: str = "", own_process: bool = False
) -> Iterator[dict[str, str]]:
    """The env vars of a fresh bucket on a real moto server (``BUILDCPG_STORAGE`` and the AWS ones).

    moto keeps its buckets per process, so every use gets a bucket of its own (``bucket``, or a random
    ``gold-…``). ``own_process``: moto in a child process, so that its memory and CPU time are not
    this process's (the benchmarks measure both); else a thread of this process (the tests)."""
    import boto3

    port = free_port()
    bucket = bucket or f"gold-{uuid.uuid4().hex[:12]}"
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing-key-id",
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_REGION": "us-east-1",
        "BUILDCPG_STORAGE": f"s3://{bucket}/team",
    }
    with _moto(port, own_process):
        boto3.client(
            "s3",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=secret,
            region_name="us-east-1",
        ).create_bucket(Bucket=bucket)
        yield env
