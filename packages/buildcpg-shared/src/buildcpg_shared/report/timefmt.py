"""One way to show a time in the report: seconds, no microseconds, UTC said once per value."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_text(value: object) -> str:
    """``2026-11-29 14:36:13 UTC`` from a datetime or an ISO text (naive values are taken as UTC); "" for none."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def utc_minute(value: object) -> str:
    """``2026-11-29 14:36`` (UTC, said in the column's header): for narrow table cells; "" for none."""
    text = utc_text(value)
    return text[:16] if text.endswith(" UTC") else text
