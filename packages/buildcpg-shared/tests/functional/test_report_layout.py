"""The report's layout holds at 1280 and 1920 px: nothing overflows its card (measured in headless Chromium),
long names clip with a tooltip, empty sections say why, a score with most parts n/a says so, and every chart
has a legend (the score chart on a dated axis)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from buildcpg_shared.report.html import write_report
from buildcpg_shared.report.sample_workspace import ADOPTED, LONG_REASON, LONG_TEST, UPSTREAM, build_report_workspace
from buildcpg_shared.testing import chromium_dump_dom, chromium_or_skip

# Measures every element of every card against the card (and the page against the viewport) and writes what
# sticks out into <pre id="overflow-result">, which --dump-dom then shows.
OVERFLOW_PROBE = """<script>
(function () {
  const bad = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) bad.push("page " + root.scrollWidth + " > " + root.clientWidth);
  const cards = document.querySelectorAll(".card");
  for (const card of cards) {
    const box = card.getBoundingClientRect();
    if (box.right > root.clientWidth + 1) bad.push("card " + (card.id || "?") + " right " + box.right);
    for (const el of card.querySelectorAll("*")) {
      if (el.closest("svg") && el.tagName.toLowerCase() !== "svg") continue;  // drawn inside its svg
      const r = el.getBoundingClientRect();
      if (!r.width) continue;
      const clips = getComputedStyle(el).overflowX === "hidden";  // cuts its own content (ellipsis + tooltip)
      const wide = !clips && el.scrollWidth > card.clientWidth + 1;
      if (wide || r.right > box.right + 1 || r.left < box.left - 1) {
        bad.push((card.id || "?") + ": <" + el.tagName.toLowerCase() + " class=" + el.getAttribute("class")
                 + "> " + Math.round(r.left) + ".." + Math.round(r.right) + " in " + Math.round(box.left)
                 + ".." + Math.round(box.right));
      }
    }
  }
  const pre = document.createElement("pre");
  pre.id = "overflow-result";
  pre.textContent = JSON.stringify({viewport: root.clientWidth, cards: cards.length, bad: bad.slice(0, 20)});
  document.body.appendChild(pre);
})();
</script>"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("layout")
    workspace = build_report_workspace(root / "ws")
    return write_report(workspace.labs(), root / "report.html", workspace)


def _section(html: str, lab: str) -> str:
    section = html[html.index(f'data-lab="{lab}"') :]
    return section[: section.index("</section>")]


def test_long_names_clip_with_their_full_text_as_tooltip(report: Path) -> None:
    html = report.read_text()
    assert f'<span class="clip" title="{LONG_TEST}">' in html
    overview = html[html.index('id="overview"') : html.index("</table>")]
    assert f'title="last run failed: {LONG_REASON}"' in overview  # whole in its tooltip
    shown = re.sub(r'title="[^"]*"', "", overview)
    assert LONG_REASON[:200] in shown and LONG_REASON not in shown and "…" in shown  # cut in the row


def test_a_score_with_most_parts_na_says_so_instead_of_100(report: Path) -> None:
    html = report.read_text()
    row = re.search(rf'data-overview="{ADOPTED}".*?</tr>', html, re.S)
    assert row and "n/a" in row.group(0) and "1 of 6 parts measured" in row.group(0) and "100.0" not in row.group(0)
    section = _section(html, ADOPTED)
    assert "Not enough measured to score" in section and "100.0 / 100" not in section
    assert "95.0" in _section(html, UPSTREAM)  # a score with its parts measured still shows its number


def test_empty_sections_say_why(report: Path) -> None:
    section = _section(report.read_text(), ADOPTED)
    assert "Not checked yet." not in section
    assert "No freshness verdict: none of this lab's dbt sources declares" in section
    assert "None: no loaded row broke the contract." in section
    assert "<details" not in section  # history and lineage are not folded away


def test_every_chart_has_a_legend_and_the_score_chart_dates(report: Path) -> None:
    html = report.read_text()
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert len(svgs) >= 4  # the declared chart, two score charts, lineage
    for svg in svgs:
        assert 'aria-roledescription="legend"' in svg, svg[:300]
    score = re.search(r'<figure class="score-chart">(.*?)</figure>', _section(html, UPSTREAM), re.S)
    assert score
    labels = re.findall(r">([^<>]+)</text>", score.group(1))
    assert "scored at (UTC)" in labels and any(re.fullmatch(r"Nov \d\d \d\d:\d\d", t) for t in labels), labels
    chart = re.search(r'data-chart="Amount now and before, per customer">(.*?)</figure>', html, re.S)
    assert chart and "amount_recent" in chart.group(1) and "amount_prior" in chart.group(1)  # both series named


@pytest.mark.parametrize("width", [1280, 1920])
def test_nothing_overflows_its_card_in_chromium(report: Path, tmp_path: Path, width: int) -> None:
    chromium = chromium_or_skip()  # required under CI=true; elsewhere says clearly that it did not run
    probe = tmp_path / "probe.html"
    probe.write_text(report.read_text().replace("</body>", OVERFLOW_PROBE + "\n</body>"))
    loaded = chromium_dump_dom(chromium, probe, tmp_path / "profile", width=width)
    assert loaded.returncode == 0, loaded.stderr
    found = re.search(r'<pre id="overflow-result">(.*?)</pre>', loaded.stdout, re.S)
    assert found, loaded.stdout[-2000:]
    result = json.loads(found.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">"))
    assert result["viewport"] <= width and result["viewport"] > width - 40, result
    assert result["cards"] >= 4, result  # the overview and one section per lab were measured
    assert result["bad"] == [], result["bad"]
