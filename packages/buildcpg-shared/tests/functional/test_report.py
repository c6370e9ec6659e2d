"""The report of a workspace with one failed, one stale and one healthy lab: overview states, each lab's
declared charts, dbt's own error line, and the file loading offline in headless Chromium."""

from __future__ import annotations

import html as html_lib
import json
import re
import socket
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from buildcpg_shared.config.lab_config import ChartSpec
from buildcpg_shared.history import LabHealth
from buildcpg_shared.history.health import UnfinishedRun
from buildcpg_shared.node_errors import dbt_error_line
from buildcpg_shared.registry import Lab
from buildcpg_shared.report.overview import overview_row
from buildcpg_shared.report.timefmt import utc_text
from buildcpg_shared.run_record import LabRunRecord, Status, StepRecord
from buildcpg_shared.serving.version import PublishedVersion
from buildcpg_shared.testing import chromium_dump_dom, chromium_or_skip, copy_workspace, keep_only_labs, run_cli
from conftest import WORKSPACE_ROOT
from pydantic import ValidationError

FAILED, STALE, HEALTHY = "lab1_sales_performance", "lab3_customer_segmentation", "lab2_forecast_model"
STG_SALES = "models/staging/stg_sales.sql"


def test_dbt_error_line_is_the_engine_line_not_the_wrapper() -> None:
    message = (
        "Runtime Error in model stg_sales (models/staging/stg_sales.sql)\n"
        '  Binder Error: Referenced column "sale_datez" not found in FROM clause!\n'
        '  Candidate bindings: "sale_date"\n  LINE 12:  sale_datez,'
    )
    assert dbt_error_line(message) == 'Binder Error: Referenced column "sale_datez" not found in FROM clause!'
    assert dbt_error_line("Got 3 results, configured to fail if != 0") == "Got 3 results, configured to fail if != 0"
    assert dbt_error_line(None) == ""


def test_chart_spec_validates_table_and_columns() -> None:
    spec = ChartSpec(title="t", table="gold.sales", x="week", y="revenue")
    assert spec.y == ["revenue"] and spec.limit == 500
    for bad, why in (
        ({"table": "silver.sales"}, "must be gold.<table>"),  # gold only: what is published
        ({"x": "week; drop table x"}, "is not a plain column name"),
        ({"y": ["a", "b"], "color": "region"}, "color and several y columns"),
        ({"limit": 0}, "greater than or equal to 1"),
    ):
        with pytest.raises(ValidationError, match=why):
            ChartSpec(**{"title": "t", "table": "gold.sales", "x": "week", "y": "revenue", **bad})


def _health(**kw: object) -> LabHealth:
    base: dict[str, object] = {
        "lab": "lab9_x",
        "last_run": "2026-01-01T00:00:00+00:00",
        "last_status": "ok",
        "last_success": datetime.now(UTC).isoformat(),
        "failures_in_a_row": 0,
        "open_incidents": (),
    }
    return LabHealth(**{**base, **kw})  # type: ignore[arg-type]


def test_overview_never_shows_green_next_to_a_failed_or_stale_run() -> None:
    score = {"score": 100.0, "threshold": 80.0, "passed": True}
    at = "2026-01-01T00:00:00+00:00"
    ok_run = LabRunRecord("lab9", Status.OK, at, at, 1.0)
    healthy = {"last_run": ok_run, "latest": {"lab": score}, "freshness": [{"source": "raw.a", "status": "pass"}]}
    assert overview_row(healthy, _health(), 24)["status"] == "green"
    failed_run = replace(ok_run, status=Status.FAILED, error="transform failed: gold.x: Binder Error")
    failed_run = replace(failed_run, steps=(StepRecord("transform", Status.FAILED),))
    failed = overview_row({**healthy, "last_run": failed_run}, _health(last_status="failed"), None)
    assert failed["status"] == "red" and failed["reasons"] == [
        "last run failed: transform failed: gold.x: Binder Error"
    ]
    # BI still reads the last good copy: said, with its version, rows and age (not "0 rows published")
    good = PublishedVersion(7, "r7", (datetime.now(UTC) - timedelta(hours=5)).isoformat(), {"gold.t": 12})
    failed = overview_row({**healthy, "last_run": failed_run, "published": good}, _health(last_status="failed"), None)
    assert failed["rows_published"] == 12 and failed["published"] == "v7, published 5.0 h ago"
    assert "BI reads the last good copy: v7, 12 rows, published 5.0 h ago" in failed["reasons"]
    # a downstream lab not started because its upstream failed is never green, and says why
    skipped_run = replace(ok_run, status=Status.SKIPPED, error="skipped (upstream failed): lab3 (failed)")
    skipped = overview_row({**healthy, "last_run": skipped_run}, _health(last_status="skipped"), None)
    assert skipped["status"] == "amber" and skipped["reasons"][0] == (
        "last run not started: skipped (upstream failed): lab3 (failed)"
    )
    warned = overview_row({**healthy, "last_run": replace(ok_run, status=Status.WARN)}, _health(), None)
    assert warned["status"] == "amber"
    old = (datetime.now(UTC) - timedelta(hours=30)).isoformat()
    stale = overview_row(healthy, _health(last_success=old), 24)
    assert stale["status"] == "red" and stale["reasons"][0].startswith("stale: last success 30.0 h ago")
    late = {**healthy, "freshness": [{"source": "raw.a", "status": "error", "detail": "40 h old"}]}
    assert overview_row(late, _health(), None)["reasons"] == ["stale data: raw.a (40 h old)"]
    incident = overview_row(healthy, _health(open_incidents=("failure",)), None)
    assert incident["status"] == "red" and incident["incidents"] == ["failure"]
    assert overview_row({**healthy, "last_run": None}, None, None)["status"] == "amber"
    # a later attempt killed before it recorded an end (its run's process is gone): red, never green
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = UnfinishedRun("r9", "lab9", "airflow lab9 (try 1)", at, socket.gethostname(), int(gone.stdout))
    died = overview_row(healthy, _health(unfinished=dead), None)
    assert died["status"] == "red" and died["reasons"][0].startswith("last run died: its run (`airflow lab9 (try 1)`")


def test_times_show_seconds_in_utc() -> None:
    assert utc_text("2026-11-29T15:36:13.842070+01:00") == "2026-11-29 14:36:13 UTC"
    assert utc_text(datetime(2026, 11, 29, 14, 36, 13, 842070)) == "2026-11-29 14:36:13 UTC"
    assert utc_text(None) == ""


def _break_model(root: Path) -> None:
    sql = root / "labs" / FAILED / "dbt" / STG_SALES
    text = sql.read_text()
    assert "        sale_date,\n" in text
    sql.write_text(text.replace("        sale_date,\n", "        sale_datez,\n", 1))


def _stale_after_a_moment(root: Path) -> None:
    lab_yaml = root / "labs" / STALE / "lab.yaml"
    lab_yaml.write_text(lab_yaml.read_text() + "\nalerts:\n  stale_after_hours: 0.0001\n")


def test_report_of_failed_stale_and_healthy_labs(tmp_path: Path) -> None:
    root = copy_workspace(WORKSPACE_ROOT, tmp_path / "ws")
    keep_only_labs(root, [FAILED, STALE, HEALTHY])  # one lab per state (lab 4 reads lab 1: not needed here)
    synced = run_cli(root, "sync")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    _stale_after_a_moment(root)
    first = run_cli(root, "run", "--all", "--no-sync")
    assert first.returncode == 0, first.stdout + first.stderr

    _break_model(root)
    failed = run_cli(root, "run", FAILED, "--no-sync")
    assert failed.returncode != 0
    # the run summary and last_run.json carry dbt's own line and the model's file, not the log's tail
    assert "Binder Error" in failed.stdout and STG_SALES in failed.stdout, failed.stdout
    last_run = json.loads((root / "labs" / FAILED / "data" / "last_run.json").read_text())
    transform = next(s for s in last_run["steps"] if s["name"] == "transform")
    assert transform["status"] == "failed"
    assert f"stg_sales ({STG_SALES}): Binder Error" in transform["detail"] and "sale_datez" in transform["detail"]

    # every run that built kept its own dbt run_results (the report's run-time trends)
    kept = {
        name: sorted((root / "labs" / name / "data" / ".buildcpg_run_results").glob("*.json"))
        for name in (FAILED, STALE, HEALTHY)
    }
    assert {name: len(files) for name, files in kept.items()} == {FAILED: 2, STALE: 1, HEALTHY: 1}

    out = tmp_path / "report.html"
    result = run_cli(root, "report", "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    html = out.read_text()
    assert not re.search(r"https?://(?!www\.w3\.org/(2000/svg|1999/xlink))", html)  # offline: namespaces only
    assert "<script src" not in html and html.count("<script>") == 1  # only the test filters, inline

    states = dict(re.findall(r'data-overview="([^"]+)" data-status="([^"]+)"', html))
    assert states == {FAILED: "red", STALE: "red", HEALTHY: "green"}
    rows = {m.group(1): m.group(0) for m in re.finditer(r'data-overview="([^"]+)".*?</tr>', html, re.S)}
    assert "last run failed: transform failed: " in rows[FAILED] and "Binder Error" in rows[FAILED]
    assert "stale: last success" in rows[STALE] and "limit 0.0001 h" in rows[STALE]
    assert "none" in rows[HEALTHY] and "1 source(s) fresh" in rows[HEALTHY]
    # the failed lab's section names the model, its file and dbt's error line
    failed_section = html[html.index(f'data-lab="{FAILED}"') :]
    failed_section = failed_section[: failed_section.index("</section>")]
    assert "Binder Error" in failed_section and STG_SALES in failed_section
    assert 'class="run-trends"' in failed_section and '<figure class="trend-chart"><svg' in failed_section

    for name in (FAILED, STALE, HEALTHY):
        section = html[html.index(f'data-lab="{name}"') :]
        section = section[: section.index("</section>")]
        declared = [c.title for c in Lab.from_dir(root / "labs" / name).config.report.charts]
        assert declared, name
        figures = re.findall(r'<figure class="lab-chart" data-chart="([^"]+)">\s*<svg', section)
        # every declared chart drawn from the serving copy (the failed lab still shows its last published gold)
        assert [html_lib.unescape(f) for f in figures] == declared, name  # titles escaped (lab 3's has quotes)
        assert '<figure class="score-chart"><svg' in section
        assert 'class="run-times"' in section and '<figure class="lineage"><svg' in section
        assert 'class="test-history"' in section

    chromium = chromium_or_skip()  # required under CI=true; elsewhere says clearly that it did not run
    loaded = chromium_dump_dom(chromium, out, tmp_path / "chromium")
    assert loaded.returncode == 0, loaded.stderr
    for name in (FAILED, STALE, HEALTHY):
        assert f'data-overview="{name}"' in loaded.stdout
    assert loaded.stdout.count('class="lab-chart"') == html.count('class="lab-chart"')
    console_errors = [line for line in loaded.stderr.splitlines() if "CONSOLE" in line and "ERROR" in line.upper()]
    assert not console_errors, console_errors
