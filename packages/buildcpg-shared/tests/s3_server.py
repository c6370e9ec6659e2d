"""A real S3 API on 127.0.0.1 for the shared-storage tests: moto's server mode on a free port."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from alert_servers import free_port


@contextmanager
def s3_server(secret: str = "test-secret-key") -> Iterator[dict[str, str]]:
    """The env vars of a fresh bucket on a real moto server (``BUILDCPG_STORAGE`` and the AWS ones).

    moto keeps its buckets per process, so every use gets a bucket of its own."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    bucket = f"gold-{uuid.uuid4().hex[:12]}"
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing-key-id",
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_REGION": "us-east-1",
        "BUILDCPG_STORAGE": f"s3://{bucket}/team",
    }
    try:
        boto3.client(
            "s3",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=secret,
            region_name="us-east-1",
        ).create_bucket(Bucket=bucket)
        yield env
    finally:
        server.stop()


@contextmanager
def s3_in_environment(monkeypatch: pytest.MonkeyPatch, secret: str) -> Iterator[dict[str, str]]:
    """``s3_server``, its settings also set in this process's environment (in-process runs and readers)."""
    with s3_server(secret=secret) as env:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        yield env
