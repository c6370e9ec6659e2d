"""A source's ``files:`` on object storage: ``s3://bucket/prefix/*.csv``, parsed and matched.

The key part is a glob like a local one: ``*`` and ``?`` stay within one ``/`` segment, ``**`` spans
segments, ``[abc]`` / ``[!abc]`` are character classes. The listing asks only for keys that start
with the literal part before the first wildcard (``prefix/`` above, or ``prefix/orders_`` for
``prefix/orders_*.csv``). A URL is not parsed by ``urllib``: ``?`` is a wildcard here, not a query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

SCHEME = "s3://"
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]", re.ASCII)  # S3's bucket naming rules
_WILDCARDS = "*?["
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):/", re.ASCII)  # s3://, s3:/ (a typo), gs://, https://


def is_url(files: str) -> bool:
    """Does a ``files:`` value name objects on storage (``scheme:/…``) rather than a glob under data/raw?"""
    return _SCHEME_RE.match(files) is not None


@dataclass(frozen=True)
class S3Glob:
    """``s3://<bucket>/<pattern>``: the objects of one source."""

    bucket: str
    pattern: str

    @classmethod
    def parse(cls, url: str) -> S3Glob:
        """The glob of ``url``; ``ValueError`` with one line saying what is wrong with it."""
        form = "s3://bucket/prefix/*.csv"
        if not url.startswith(SCHEME):
            scheme = url.split(":", 1)[0]
            if scheme.lower() == "s3":
                raise ValueError(f"{url!r} is not an s3:// URL ({form})")
            raise ValueError(f"{url!r}: only s3:// URLs name objects on storage, not {scheme}:// ({form})")
        bucket, _, pattern = url[len(SCHEME) :].partition("/")
        if not bucket:
            raise ValueError(f"{url!r} names no bucket ({form})")
        if not _BUCKET_RE.fullmatch(bucket) or ".." in bucket:
            raise ValueError(
                f"{url!r}: {bucket!r} is not a bucket name (3-63 lowercase letters, digits, '.', '-'; "
                f"no wildcard) ({form})"
            )
        if not pattern or pattern.endswith("/"):
            raise ValueError(f"{url!r} names no objects: end it with a key glob ({form})")
        if "//" in pattern:
            raise ValueError(f"{url!r} has an empty path segment ('//') ({form})")
        return cls(bucket, pattern)

    @property
    def url(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.pattern}"

    @property
    def list_prefix(self) -> str:
        """The literal start of every matching key (what the listing asks for)."""
        cut = min((i for i in (self.pattern.find(c) for c in _WILDCARDS) if i >= 0), default=len(self.pattern))
        return self.pattern[:cut]

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        return re.compile(_translate(self.pattern), re.DOTALL)

    def matches(self, key: str) -> bool:
        """Does object ``key`` match the glob (the whole key)?"""
        return self._regex.fullmatch(key) is not None

    def object_url(self, key: str) -> str:
        """The ``s3://`` URL of one object of this bucket."""
        return f"{SCHEME}{self.bucket}/{key}"


def _translate(pattern: str) -> str:
    """A glob as a regular expression (matched against a whole key)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            body = "^" + body[1:] if body.startswith("!") else body
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)
