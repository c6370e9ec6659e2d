"""The cross-lab report: one static, self-contained HTML file."""

from __future__ import annotations

from buildcpg_shared.report.html import render_report, write_report

__all__ = ["render_report", "write_report"]
