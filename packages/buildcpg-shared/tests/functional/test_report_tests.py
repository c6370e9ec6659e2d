"""The report's searchable test history: one table of every test across labs (status over the last runs, first
failure, last pass), up to 5 failing rows of a failing test, and filters by lab, status and text that work
offline in headless Chromium."""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.report import failing_rows as failing_rows_module
from buildcpg_shared.report.failing_rows import failing_rows
from buildcpg_shared.report.html import write_report
from buildcpg_shared.report.sample_workspace import (
    ADOPTED,
    DOWNSTREAM,
    FAILING_COMPILED,
    FAILING_STORED,
    LONG_TEST,
    RUNS,
    UPSTREAM,
    build_report_workspace,
    run_at,
)
from buildcpg_shared.testing import chromium_dump_dom, chromium_or_skip

FILTER_PROBE = """<script>
(function () {
  function visible() {
    return Array.prototype.filter.call(document.querySelectorAll("#all-tests tr.test-row"), function (r) {
      return !r.hidden;
    }).map(function (r) { return r.getAttribute("data-test-lab") + "/" + r.querySelector("td").textContent.trim(); });
  }
  function set(id, value) {
    var el = document.getElementById(id); el.value = value; el.dispatchEvent(new Event("input"));
  }
  var out = {all: visible().length};
  set("filter-lab", "%(lab)s"); out.lab = visible();
  set("filter-lab", ""); set("filter-status", "failing"); out.failing = visible();
  set("filter-status", ""); set("filter-text", "POSITIVE"); out.text = visible();
  out.count = document.getElementById("filter-count").textContent;
  var pre = document.createElement("pre"); pre.id = "filter-result"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tests")
    workspace = build_report_workspace(root / "ws")
    return write_report(workspace.labs(), root / "report.html", workspace)


def _rows(html: str) -> list[str]:
    table = html[html.index('id="all-tests"') : html.index("</tbody>", html.index('id="all-tests"'))]
    return re.findall(r'<tr class="(?:test-row".*?</tr>|sample-row".*?</td></tr><!-- sample -->)', table, re.S)


def test_one_table_across_labs_failing_first_with_first_failure_and_last_pass(report: Path) -> None:
    html = report.read_text()
    tests = [r for r in _rows(html) if 'class="test-row"' in r]
    assert len(tests) == 3 * 2 + 2 + 1  # two tests in every lab, two more in the upstream, one warned once
    labs = {re.search(r'data-test-lab="([^"]+)"', r).group(1) for r in tests}  # type: ignore[union-attr]
    assert labs == {UPSTREAM, DOWNSTREAM, ADOPTED}
    assert [FAILING_STORED in tests[0], FAILING_COMPILED in tests[1]] == [True, True]  # failing first
    assert all('data-status="failing"' in r for r in tests[:2]) and all(
        'data-status="failing"' not in r for r in tests[2:]
    )
    stored = tests[0]
    assert stored.count('class="cell ') == RUNS
    cells = re.findall(r'class="cell (\w+)"', stored)
    assert cells == ["pass"] * (RUNS - 2) + ["fail"] * 2
    dates = re.findall(r'<td class="when" title="[^"]+">(\d{4}-\d\d-\d\d \d\d:\d\d)</td>', stored)
    first_failure, last_pass = (run_at(RUNS - 2), run_at(RUNS - 3))  # began failing in run 5; passed in run 4
    assert dates == [first_failure.strftime("%Y-%m-%d 06:05"), last_pass.strftime("%Y-%m-%d 06:05")]
    passing = next(r for r in tests if LONG_TEST in r and UPSTREAM in r)
    assert '<td class="when" title="">–</td>' in passing  # no failure since its last pass
    # each lab's section says how many of its tests fail and points to the table
    section = html[html.index(f'data-lab="{UPSTREAM}"') :]
    assert re.search(
        r'class="test-history">4 test\(s\) over the last 6 run\(s\),\s*<span class="fail">2 failing now', section
    )


def test_failing_tests_show_up_to_five_failing_rows(report: Path) -> None:
    rows = _rows(report.read_text())
    samples = [r for r in rows if 'class="sample-row"' in r]
    assert len(samples) == 2  # only the failing tests
    stored, compiled = samples
    assert "from stored failures" in stored and "from the test's query" in html_lib.unescape(compiled)
    stored_cells = [html_lib.unescape(c) for c in re.findall(r"<td>([^<]*)</td>", stored)]
    assert stored_cells[:3] == ["0", "null", "0"] and stored_cells.count("null") == 5  # 5 of the 10 stored rows
    compiled_rows = re.findall(r"<tr><td>(-?\d+)</td><td>(-?\d+)</td></tr>", compiled)
    assert len(compiled_rows) == 5 and all(int(amount) <= 0 for _id, amount in compiled_rows)


def test_a_sample_that_cannot_be_read_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "target"
    target.mkdir()
    results = [
        {"unique_id": "test.x.gone", "compiled_code": "select * from main.no_such_table"},
        {"unique_id": "test.x.slow", "compiled_code": "select count(*) from range(1000000000000)"},
    ]
    (target / "run_results.build.json").write_text(json.dumps({"results": results}))
    monkeypatch.setattr(failing_rows_module, "QUERY_SECONDS", 0.3)
    con = duckdb.connect()
    try:
        out = failing_rows(con, target, ["test.x.gone", "test.x.slow", "test.x.unknown"])
    finally:
        con.close()
    assert out["test.x.gone"]["error"].startswith("rows not read: Catalog Error")
    assert out["test.x.slow"]["error"].startswith("rows not read:") and out["test.x.slow"]["rows"] == []
    assert out["test.x.unknown"]["error"] == "not in the kept run_results of dbt"


def test_filters_work_offline_in_chromium(report: Path, tmp_path: Path) -> None:
    chromium = chromium_or_skip()  # required under CI=true; elsewhere says clearly that it did not run
    probe = tmp_path / "probe.html"
    probe.write_text(report.read_text().replace("</body>", FILTER_PROBE % {"lab": DOWNSTREAM} + "\n</body>"))
    loaded = chromium_dump_dom(chromium, probe, tmp_path / "profile", width=1280)
    assert loaded.returncode == 0, loaded.stderr
    console_errors = [line for line in loaded.stderr.splitlines() if "CONSOLE" in line and "ERROR" in line.upper()]
    assert not console_errors, console_errors
    found = re.search(r'<pre id="filter-result">(.*?)</pre>', loaded.stdout, re.S)
    assert found, loaded.stdout[-2000:]
    result = json.loads(html_lib.unescape(found.group(1)))
    assert result["all"] == 9
    assert len(result["lab"]) == 3 and all(r.startswith(f"{DOWNSTREAM}/") for r in result["lab"])
    assert result["failing"] == [f"{UPSTREAM}/{FAILING_STORED}", f"{UPSTREAM}/{FAILING_COMPILED}"]
    assert result["text"] == [f"{UPSTREAM}/{FAILING_COMPILED}"]  # case-insensitive search
    assert result["count"] == "1 of 9 test(s)"
