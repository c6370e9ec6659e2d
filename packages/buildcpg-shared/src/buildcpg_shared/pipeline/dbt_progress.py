"""Per-model progress of a dbt command, from dbt's own events (``dbtRunner(callbacks=[...])``).

dbt fires ``LogModelResult`` / ``LogSeedResult`` / ``LogSnapshotResult`` as each node finishes and
``SkippingDetails`` for a node skipped after an upstream failure; each carries the node's index, the
command's node count, its relation and its time. :class:`NodeProgress` turns those into
:class:`NodeLine` values, e.g. ``[12/30] silver.int_x ... ok 0.4s``. No log is parsed. In a
``dbt build`` dbt numbers tests too: the progress then renumbers the seeds and models itself.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

_RESULT_EVENTS = frozenset({"LogModelResult", "LogSeedResult", "LogSnapshotResult"})
_SKIPPED_EVENT = "SkippingDetails"
_NODE_KINDS = frozenset({"model", "seed", "snapshot"})


@dataclass(frozen=True)
class NodeLine:
    """One finished dbt node: where it is in the command, what it built, how it ended, how long."""

    index: int
    total: int
    relation: str
    status: str  # ok | error | skipped
    seconds: float

    def text(self) -> str:
        """``[12/30] silver.int_x ... ok 0.4s`` (the index padded to the width of the total)."""
        width = len(str(self.total))
        timing = f" {self.seconds:.1f}s" if self.status != "skipped" else ""
        return f"[{self.index:>{width}}/{self.total}] {self.relation} ... {self.status}{timing}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NodeLine:
        return cls(
            index=int(data.get("index") or 0),
            total=int(data.get("total") or 0),
            relation=str(data.get("relation") or "?"),
            status=str(data.get("status") or "?"),
            seconds=float(data.get("seconds") or 0.0),
        )


def node_line(msg: Any) -> NodeLine | None:
    """The progress line of one dbt event message, or None for every other event."""
    name = msg.info.name
    data = msg.data
    if name in _RESULT_EVENTS:
        relation = data.node_info.node_relation
        where = ".".join(p for p in (relation.schema, relation.alias) if p) or data.node_info.node_name
        status = "error" if str(data.status).lower() == "error" else "ok"
        return NodeLine(int(data.index), int(data.total), where, status, float(data.execution_time))
    if name == _SKIPPED_EVENT and data.resource_type in _NODE_KINDS:
        where = ".".join(p for p in (data.schema, data.node_name) if p)
        return NodeLine(int(data.index), int(data.total), where, "skipped", 0.0)
    return None


class NodeProgress:
    """A dbt callback that hands each finished model, seed or snapshot to ``on_node``.

    dbt calls its callbacks inside its own event loop: a failure here must never fail the build,
    so any error in reading an event or in ``on_node`` is swallowed.
    """

    def __init__(self, on_node: Callable[[NodeLine], None]) -> None:
        self.on_node = on_node
        self._total: int | None = None  # set: number the lines 1..total here, not with dbt's index
        self._next = itertools.count(1)
        self._lock = threading.Lock()

    def renumber(self, total: int | None) -> None:
        """From now on number the lines ``1..total`` in the order they finish (None: dbt's own numbers)."""
        with self._lock:
            self._total, self._next = total, itertools.count(1)

    def __call__(self, msg: Any) -> None:
        try:
            line = node_line(msg)
            if line is not None and self._total is not None:
                with self._lock:
                    line = NodeLine(next(self._next), self._total, line.relation, line.status, line.seconds)
            if line is not None:
                self.on_node(line)
        except Exception:  # progress is best effort: dbt's own result is what counts
            return
