"""A small S3 client over boto3: streamed uploads and downloads, conditional writes, one-line errors.

Endpoint, region and credentials come only from the standard AWS env vars (``AWS_ENDPOINT_URL``,
``AWS_REGION``/``AWS_DEFAULT_REGION``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_SESSION_TOKEN``), never from a file: no shared credentials or config file is read. Every
fault is a ``StorageError`` of one line with the secret masked, whatever the server said.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from buildcpg_shared.errors import ObjectChangedError, StaleWriterError, StorageError, first_line

if TYPE_CHECKING:
    from botocore.client import BaseClient

CHUNK = 8 * 1024 * 1024  # bytes read or written at a time: never a whole file in memory
_SECRET_VARS = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
_PRECONDITION = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}
_MISSING = {"NoSuchKey", "404", "NotFound"}
# a full bucket or an exceeded quota, as S3-compatible stores say it (Ceph RGW, MinIO, others)
_FULL = {"QuotaExceeded", "XMinioStorageFull", "XMinioAdminBucketQuotaExceeded", "InsufficientStorage", "507"}
_OVERLOADED = {"SlowDown", "ServiceUnavailable", "503", "RequestLimitExceeded"}


@dataclass(frozen=True)
class Located:
    """Where storage is: the bucket and the key prefix of an ``s3://bucket/prefix`` URL."""

    bucket: str
    prefix: str

    @classmethod
    def from_url(cls, url: str) -> Located:
        parts = urlsplit(url)
        return cls(parts.netloc, parts.path.strip("/"))

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")


class ObjectStore:
    """One bucket and prefix; keys given to its methods are relative to the prefix."""

    def __init__(self, url: str, env: Mapping[str, str] | None = None) -> None:
        self.where = Located.from_url(url)
        self._env = dict(os.environ if env is None else env)
        self._client: BaseClient | None = None

    # -- the client ----------------------------------------------------------------------------
    def _make_client(self) -> BaseClient:
        env = self._env
        key_id, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
        if not key_id or not secret:
            raise StorageError(
                f"storage {self.where.url}: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set "
                "(credentials come from the environment only)"
            )
        import boto3  # only with storage set: the embedded default never imports it
        from botocore.config import Config

        session = boto3.session.Session(
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            aws_session_token=env.get("AWS_SESSION_TOKEN") or None,
            region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        )
        config = Config(
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
            request_checksum_calculation="when_required",  # one pass over the file, not two
            response_checksum_validation="when_required",  # we check our own sha256
        )
        return session.client("s3", endpoint_url=env.get("AWS_ENDPOINT_URL") or None, config=config)

    @property
    def client(self) -> BaseClient:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def problem(self, doing: str, err: BaseException) -> str:
        """One line: what failed, where, and why (the secret masked)."""
        code = _code(err)
        why = {
            "InvalidAccessKeyId": "credentials refused (AWS_ACCESS_KEY_ID unknown)",
            "SignatureDoesNotMatch": "credentials refused (AWS_SECRET_ACCESS_KEY does not match)",
            "InvalidToken": "credentials refused (AWS_SESSION_TOKEN invalid)",
            "ExpiredToken": "credentials refused (AWS_SESSION_TOKEN expired)",
            "AccessDenied": "access denied",
            "NoSuchBucket": f"no bucket {self.where.bucket}",
        }.get(code or "", "")
        if code in _FULL:
            why = f"the bucket is full or over its quota ({code}: {_message(err)})"
        elif code == "EntityTooLarge":
            why = f"the store refuses an object this large ({code}: {_message(err)})"
        elif code in _OVERLOADED:
            why = f"the store is overloaded and still said so after retries ({code}: {_message(err)})"
        if not why:
            why = first_line(err) if code is None else f"{code}: {first_line(err)}"
            endpoint = self._env.get("AWS_ENDPOINT_URL")
            if type(err).__name__ in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"):
                why = f"cannot reach {endpoint or 'S3'}"
        return self.scrub(f"storage {self.where.url}: cannot {doing}: {why}")

    def scrub(self, text: str) -> str:
        """``text`` with every secret value replaced by ``***``."""
        for var in _SECRET_VARS:
            secret = self._env.get(var)
            if secret:
                text = text.replace(secret, "***")
        return text

    # -- operations ----------------------------------------------------------------------------
    def check(self) -> str:
        """'' when the bucket answers, else why not (one line): what ``doctor`` shows.

        A one-key listing of the prefix, not HeadBucket: a HEAD answer has no body, so a refused key, a
        wrong secret and a missing permission would all be a bare "403 Forbidden"; a listing names the
        reason, and checks the ListBucket permission publishing needs."""
        try:
            self.client.list_objects_v2(Bucket=self.where.bucket, Prefix=self.where.key(""), MaxKeys=1)
        except StorageError as err:
            return str(err)
        except Exception as err:
            return self.problem("reach the bucket", err)
        return ""

    def upload_new(self, name: str, path: Path) -> str:
        """Stream ``path`` to ``name`` only if no object has that name (create-only); its ETag.

        ``StaleWriterError`` when the name is taken."""
        try:
            with path.open("rb") as body:
                done = self.client.put_object(
                    Bucket=self.where.bucket, Key=self.where.key(name), Body=body, IfNoneMatch="*"
                )
        except StorageError:
            raise
        except Exception as err:
            if _code(err) in _PRECONDITION:
                raise StaleWriterError(self.scrub(f"storage {self.where.url}: {name} exists already")) from None
            raise StorageError(self.problem(f"upload {name}", err)) from None
        return str(done["ETag"])

    def put_json(self, name: str, data: dict[str, Any], *, if_match: str | None) -> str:
        """Write a small JSON object: over the version whose ETag is ``if_match``, or create-only when
        None. ``StaleWriterError`` when the condition does not hold (someone wrote it meanwhile)."""
        condition = {"IfMatch": if_match} if if_match else {"IfNoneMatch": "*"}
        try:
            done = self.client.put_object(
                Bucket=self.where.bucket,
                Key=self.where.key(name),
                Body=json.dumps(data, sort_keys=True).encode(),
                ContentType="application/json",
                **condition,
            )
        except StorageError:
            raise
        except Exception as err:
            if _code(err) in _PRECONDITION:
                raise StaleWriterError(
                    self.scrub(f"storage {self.where.url}: {name} was moved by another writer meanwhile")
                ) from None
            raise StorageError(self.problem(f"write {name}", err)) from None
        return str(done["ETag"])

    def get_json(self, name: str) -> tuple[dict[str, Any], str] | None:
        """(data, ETag) of a small JSON object, or None when there is none."""
        try:
            got = self.client.get_object(Bucket=self.where.bucket, Key=self.where.key(name))
            data = json.loads(got["Body"].read())
        except StorageError:
            raise
        except ValueError as err:
            raise StorageError(self.scrub(f"storage {self.where.url}: {name} is not JSON ({err})")) from None
        except Exception as err:
            if _code(err) in _MISSING:
                return None
            raise StorageError(self.problem(f"read {name}", err)) from None
        return data, str(got["ETag"])

    def chunks(self, name: str, *, if_match: str | None = None) -> Iterator[bytes]:
        """The chunks of object ``name`` (streamed); ``FileNotFoundError`` when it is gone. With
        ``if_match``, the store itself refuses an object whose ETag differs (``ObjectChangedError``)."""
        condition = {"IfMatch": if_match} if if_match else {}
        try:
            body = self.client.get_object(Bucket=self.where.bucket, Key=self.where.key(name), **condition)["Body"]
            yield from body.iter_chunks(CHUNK)
        except StorageError:
            raise
        except Exception as err:
            if _code(err) in _MISSING:
                raise FileNotFoundError(name) from None
            if if_match and _code(err) in _PRECONDITION:
                raise ObjectChangedError(self.scrub(f"storage {self.where.url}: {name} changed")) from None
            raise StorageError(self.problem(f"download {name}", err)) from None

    def names(self, prefix: str) -> list[str]:
        """Names (relative to the store's prefix) of every object under ``prefix``."""
        base = self.where.key("")
        found: list[str] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.where.bucket, Prefix=self.where.key(prefix)
            )
            for page in pages:
                found += [str(o["Key"])[len(base) :] for o in page.get("Contents", [])]
        except StorageError:
            raise
        except Exception as err:
            raise StorageError(self.problem(f"list {prefix}", err)) from None
        return found

    def delete(self, name: str) -> None:
        try:
            self.client.delete_object(Bucket=self.where.bucket, Key=self.where.key(name))
        except StorageError:
            raise
        except Exception as err:
            raise StorageError(self.problem(f"delete {name}", err)) from None


def _message(err: BaseException) -> str:
    """The store's own message of a botocore ClientError (without botocore's preamble), one line."""
    response = getattr(err, "response", None)
    message = response.get("Error", {}).get("Message") if isinstance(response, dict) else None
    return first_line(err) if not message else " ".join(str(message).split())


def _code(err: BaseException) -> str | None:
    """The S3 error code of a botocore ClientError, else None."""
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None
