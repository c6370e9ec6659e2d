"""BI-safe serving: gold tables published to a read-only file that is swapped atomically."""

from __future__ import annotations

from buildcpg_shared.serving.publish import VERSION_TABLE, PublishResult, publish
from buildcpg_shared.serving.version import PublishedVersion, published_version

__all__ = ["VERSION_TABLE", "PublishResult", "PublishedVersion", "publish", "published_version"]
