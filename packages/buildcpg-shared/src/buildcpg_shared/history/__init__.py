"""Run history at the workspace root (``.buildcpg/history.sqlite``): runs, lab runs, steps, incidents."""

from buildcpg_shared.history.store import History, LabHealth, now_iso
from buildcpg_shared.run_record import LabRunRecord, quality_of

__all__ = ["History", "LabHealth", "LabRunRecord", "now_iso", "quality_of"]
