"""Alerts: one per incident (failed run, quality under threshold, stale data), a recovery when it clears."""

from buildcpg_shared.alerts.dispatch import AlertDispatcher, Delivery
from buildcpg_shared.alerts.message import Alert

__all__ = ["Alert", "AlertDispatcher", "Delivery"]
