"""Run history and incidents: ``.buildcpg/history.sqlite``, or PostgreSQL with ``shared: state``.

The store (SQLAlchemy) is imported on first use, not with this package: a command that never reads
the history (``buildcpg --help``, ``check``, ``doctor``) does not pay for SQLAlchemy's import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from buildcpg_shared.history.health import LabHealth, now_iso
from buildcpg_shared.run_record import LabRunRecord, quality_of

if TYPE_CHECKING:
    from buildcpg_shared.history.store import History
    from buildcpg_shared.registry import Workspace

__all__ = ["History", "LabHealth", "LabRunRecord", "history_for", "now_iso", "quality_of"]


def history_for(workspace: Workspace) -> History:
    """The history in force for the workspace: PostgreSQL with ``shared: state``, else the SQLite file."""
    from buildcpg_shared.history.store import History

    state = workspace.shared.state
    return History.for_url(state) if state else History.for_state_dir(workspace.state_dir)


def __getattr__(name: str) -> Any:
    if name == "History":
        from buildcpg_shared.history.store import History

        return History
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
