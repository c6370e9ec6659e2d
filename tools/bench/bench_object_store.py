"""Benchmark: obstore vs boto3 putting and getting one 200 MB file against moto's S3 server on 127.0.0.1.

The platform uses boto3 (a dependency of buildcpg-shared); obstore is not installed, so bring it for
the run, from the workspace root::

    uv run --locked --with obstore python tools/bench/bench_object_store.py [--mb 200]

Each operation runs in its own process (its peak RSS is its own), on the same file and server:

* **obstore put** (``obstore.put`` of a path: multipart, streamed) and **obstore put create-only**
  (``mode="create"``: object_store sends a single PUT, so the payload is read into memory first);
* **boto3 upload_file** (managed multipart, streamed) and **boto3 put create-only**
  (``put_object(IfNoneMatch="*")`` with the open file as body: one streamed PUT);
* **get** with each client, streamed to a local file (obstore ``get().stream()``, boto3 ``download_file``
  and ``get_object()["Body"].iter_chunks()``).

It prints seconds, MB/s and peak RSS per operation. What Publish needs is the create-only put and a
streamed get: the conditional write must not cost a whole file in memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from buildcpg_shared.local_servers import s3_server

BUCKET = "bench-bucket"


def _op(name: str, path: Path, key: str) -> None:
    """One operation in this process; prints a JSON line (seconds, peak RSS in MB)."""
    start = time.perf_counter()
    if name.startswith("obstore"):
        import obstore
        from obstore.store import S3Store

        store = S3Store(BUCKET, client_options={"allow_http": True})
        if name == "obstore put":
            obstore.put(store, key, path)
        elif name == "obstore put create-only":
            obstore.put(store, key, path, mode="create")
        else:
            with path.open("wb") as out:
                for chunk in obstore.get(store, key).stream(min_chunk_size=8 * 1024 * 1024):
                    out.write(chunk)
    else:
        import boto3

        client = boto3.client("s3")
        if name == "boto3 upload_file":
            client.upload_file(str(path), BUCKET, key)
        elif name == "boto3 put create-only":
            with path.open("rb") as body:
                client.put_object(Bucket=BUCKET, Key=key, Body=body, IfNoneMatch="*")
        elif name == "boto3 get_object stream":
            body = client.get_object(Bucket=BUCKET, Key=key)["Body"]
            with path.open("wb") as out:
                for chunk in body.iter_chunks(8 * 1024 * 1024):
                    out.write(chunk)
        else:
            client.download_file(BUCKET, key, str(path))
    seconds = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "rss_mb": rss_mb}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--op", nargs=3, help=argparse.SUPPRESS)  # internal: one operation in a child
    args = parser.parse_args()
    if args.op:
        _op(args.op[0], Path(args.op[1]), args.op[2])
        return

    # moto in its own process: it keeps objects in memory, and a child forked from a big parent would
    # report the parent's pages as its own peak RSS
    with s3_server("bench-secret", bucket=BUCKET, own_process=True) as s3, tempfile.TemporaryDirectory() as tmp:
        os.environ.update({key: value for key, value in s3.items() if key.startswith("AWS_")})
        env = dict(os.environ)
        port = s3["AWS_ENDPOINT_URL"].rsplit(":", 1)[1]
        source = Path(tmp) / "serving.duckdb"
        with source.open("wb") as out:
            for _ in range(args.mb):
                out.write(os.urandom(1024 * 1024))
        plan = [
            ("obstore put", source, "a/obstore"),
            ("obstore put create-only", source, "a/obstore-create"),
            ("boto3 upload_file", source, "a/boto3"),
            ("boto3 put create-only", source, "a/boto3-create"),
            ("obstore get", Path(tmp) / "o.out", "a/obstore"),
            ("boto3 download_file", Path(tmp) / "b.out", "a/boto3"),
            ("boto3 get_object stream", Path(tmp) / "c.out", "a/boto3"),
        ]
        print(f"{args.mb} MB against moto on 127.0.0.1:{port}")
        print(f"{'operation':<26}{'seconds':>9}{'MB/s':>9}{'peak RSS MB':>13}")
        for name, path, key in plan:
            done = subprocess.run(
                [sys.executable, __file__, "--op", name, str(path), key],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{name:<26}{row['seconds']:>9.2f}{args.mb / row['seconds']:>9.0f}{row['rss_mb']:>13.0f}")


if __name__ == "__main__":
    main()
