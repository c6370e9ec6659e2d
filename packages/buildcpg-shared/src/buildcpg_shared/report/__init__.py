"""The cross-lab report: one static, self-contained HTML file (``report.html``).

Nothing is imported here: the charts need Altair and vl-convert (about a second to import), and the
CLI's other commands use only ``report.timefmt``; import ``buildcpg_shared.report.html`` to render.
"""
