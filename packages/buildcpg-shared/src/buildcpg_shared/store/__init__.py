"""Object storage (S3 API) for shared published gold: the client (client.py) and the versions and
their pointer (published.py). Used only when ``buildcpg.yaml`` ``shared.storage`` (or
``BUILDCPG_STORAGE``) is set; boto3 is imported then, never in the embedded default."""

from __future__ import annotations

from buildcpg_shared.store.client import ObjectStore
from buildcpg_shared.store.published import Pointer, SharedGold

__all__ = ["ObjectStore", "Pointer", "SharedGold"]
