"""Object storage (S3 API) for shared published gold and lab state: the client (client.py), the
versioned objects and their pointer (versioned.py), published gold (published.py) and lab database
snapshots (snapshots.py). Used only when ``buildcpg.yaml`` ``shared.storage`` (or
``BUILDCPG_STORAGE``) is set; boto3 is imported then, never in the embedded default."""

from __future__ import annotations

from buildcpg_shared.store.client import ObjectStore
from buildcpg_shared.store.published import Pointer, SharedGold
from buildcpg_shared.store.snapshots import LabSnapshots, Snapshot

__all__ = ["LabSnapshots", "ObjectStore", "Pointer", "SharedGold", "Snapshot"]
