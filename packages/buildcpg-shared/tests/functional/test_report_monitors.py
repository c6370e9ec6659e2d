"""Column monitors in the report: the newest run's anomaly with its band, in the lab's section (with a chart of
the value over the runs) and as a red reason in the overview; a lab without monitors shows no such section."""

from __future__ import annotations

import re
from pathlib import Path

from buildcpg_shared.report.html import write_report
from buildcpg_shared.report.sample_workspace import ADOPTED, MONITORED, UPSTREAM, build_report_workspace


def _section(html: str, lab: str) -> str:
    section = html[html.index(f'data-lab="{lab}"') :]
    return section[: section.index("</section>")]


def test_an_anomaly_shows_with_its_band_chart_and_overview_reason(tmp_path: Path) -> None:
    workspace = build_report_workspace(tmp_path / "ws")
    html = write_report(workspace.labs(), tmp_path / "report.html", workspace).read_text()
    section = _section(html, UPSTREAM)
    table = re.search(r'<table class="anomalies">.*?</table>', section, re.S)
    assert table and MONITORED in table.group(0) and ">mean<" in table.group(0) and ">55<" in table.group(0)
    band = re.search(r"(\d+\.\d+) – (\d+\.\d+)", table.group(0))
    assert band and float(band.group(1)) < 10 < float(band.group(2)) < 55  # learned from the 5 runs before
    chart = re.search(r'<figure class="monitor-chart">(.*?)</figure>', section, re.S)
    assert chart
    labels = re.findall(r">([^<>]+)</text>", chart.group(1))
    assert "band learned from the runs before" in labels and "run (UTC)" in labels
    row = re.search(rf'data-overview="{UPSTREAM}".*?</tr>', html, re.S)
    assert row and f"column anomaly: {MONITORED} mean 55 outside its band" in row.group(0)
    assert "Column monitors" not in _section(html, ADOPTED)  # not configured: no empty section
