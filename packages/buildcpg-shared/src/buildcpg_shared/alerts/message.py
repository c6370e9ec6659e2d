"""One alert: which lab, which kind of incident, opened or recovered, and a line for people."""

from __future__ import annotations

import socket
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from buildcpg_shared.history import now_iso

_TITLES = {"failed": "run failed", "quality": "quality under threshold", "stale": "data is stale"}


@dataclass(frozen=True)
class Alert:
    """An incident that opened, or one that recovered."""

    lab: str
    kind: str  # failed | quality | stale
    state: Literal["open", "recovered"]
    message: str
    at: str = field(default_factory=now_iso)
    host: str = field(default_factory=socket.gethostname)
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        if self.state == "recovered":
            return f"[buildcpg] RECOVERED {self.lab}: {_TITLES.get(self.kind, self.kind)} is resolved"
        return f"[buildcpg] ALERT {self.lab}: {_TITLES.get(self.kind, self.kind)}"

    @property
    def text(self) -> str:
        return f"{self.subject} — {self.message} (at {self.at} on {self.host})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
