"""Run history and incidents: ``.buildcpg/history.sqlite``, or PostgreSQL with ``shared: state``."""

from buildcpg_shared.history.store import History, LabHealth, history_for, now_iso
from buildcpg_shared.run_record import LabRunRecord, quality_of

__all__ = ["History", "LabHealth", "LabRunRecord", "history_for", "now_iso", "quality_of"]
