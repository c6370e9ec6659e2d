"""How the report's charts are drawn (issue 26: 4 labs x 30 runs in under 5 s, tools/bench/bench_report.py): in a
process of their own while the labs are read, through a cache of SVGs keyed by their spec. The page must be the
one drawing every chart in place gives, byte for byte."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.registry import Workspace
from buildcpg_shared.report import charts
from buildcpg_shared.report.html import CACHE, render_report
from buildcpg_shared.report.sample_workspace import build_report_workspace
from buildcpg_shared.report.svg_render import DrawingProcess, SvgBatch, SvgCache, svg_of

GENERATED = re.compile(r"Generated [^<]* UTC")
SPEC = {"data": {"values": [{"x": 1, "y": 2}]}, "mark": "point", "encoding": {"x": {"field": "x"}}}


def _page(workspace: Workspace) -> str:
    return GENERATED.sub("Generated (time)", render_report(workspace.labs(), workspace))


def _svg_cache(workspace: Workspace) -> Path:
    return workspace.state_dir / CACHE / "svg"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return build_report_workspace(tmp_path_factory.mktemp("drawing") / "ws", more_labs=1)


@pytest.fixture(scope="module")
def drawn_in_place(workspace: Workspace) -> str:
    """The page with every chart drawn where it is built, in this process, no cache: the way it was."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SvgBatch, "submit", lambda self, spec: svg_of(spec))
        page = _page(workspace)
    assert page.count("<svg") >= 14
    return page


def test_charts_drawn_apart_and_cached_give_the_same_page(workspace: Workspace, drawn_in_place: str) -> None:
    cache = _svg_cache(workspace)
    for old in cache.glob("*"):
        old.unlink()
    assert _page(workspace) == drawn_in_place  # empty cache: every chart drawn by the drawing process
    assert len(list(cache.glob("*.svg"))) >= 5  # the distinct charts (some labs draw the same lineage)
    assert _page(workspace) == drawn_in_place  # filled cache: no chart drawn
    assert "buildcpg-svg-" not in drawn_in_place


def test_unchanged_charts_are_not_drawn_again(workspace: Workspace, drawn_in_place: str) -> None:
    _page(workspace)
    cache = _svg_cache(workspace)
    files = sorted(cache.glob("*.svg"))
    for i, path in enumerate(files):
        path.write_text(f'<svg data-cached="{i}"></svg>', encoding="utf-8")
    page = _page(workspace)
    assert page.count("<svg") == drawn_in_place.count("<svg") == page.count("<svg data-cached=")
    files[0].unlink()  # that chart is drawn again, the others still come from the cache
    page = _page(workspace)
    assert page.count("<svg data-cached=") < page.count("<svg") == drawn_in_place.count("<svg")
    assert (cache / files[0].name).read_text(encoding="utf-8").startswith("<svg xmlns=")


def test_two_reports_at_once_share_the_cache(workspace: Workspace, drawn_in_place: str) -> None:
    cache = _svg_cache(workspace)
    for old in cache.glob("*"):
        old.unlink()
    pages: list[str] = []
    threads = [threading.Thread(target=lambda: pages.append(_page(workspace))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert pages == [drawn_in_place, drawn_in_place]
    assert not list(cache.glob(".*.tmp"))


def test_every_spec_the_report_builds_is_valid_vega_lite(workspace: Workspace, drawn_in_place: str) -> None:
    """The report builds its charts without Altair's schema checks (a third of a second); here they are on."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(charts, "VALIDATE_SPECS", True)
        patch.setattr(SvgBatch, "submit", lambda self, spec: svg_of(spec))
        assert _page(workspace) == drawn_in_place


def test_a_spec_vl_convert_refuses_fails_the_report_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(BuildCPGError) as caught, SvgBatch(SvgCache(tmp_path)) as batch:
        batch.fill(f"<p>{batch.submit({'mark': 'no such mark', 'data': {'values': []}})}</p>")
    message = str(caught.value)
    assert message.startswith("a chart could not be drawn: ValueError: Vega-Lite to SVG conversion failed:")
    assert "\n" not in message
    assert not list(tmp_path.glob("*.svg"))


@pytest.mark.parametrize("how", ["killed", "closed"])
def test_a_drawing_process_that_ended_fails_what_waits_for_it(how: str) -> None:
    process = DrawingProcess()
    assert process.draw(SPEC).result(timeout=60).startswith("<svg")
    if how == "killed":  # as if it crashed: the charts still waiting fail, the report does not hang
        waiting = [process.draw(SPEC) for _ in range(20)]
        process._proc.kill()
    else:
        process.close()
        waiting = [process.draw(SPEC)]
    for future in waiting:
        try:
            future.result(timeout=60)  # drawn before the kill: fine
        except BuildCPGError as err:
            assert re.fullmatch(r"the chart drawing process ended \(exit code -?\d+\)", str(err))
    with pytest.raises(BuildCPGError, match=r"the chart drawing process ended \(exit code"):
        process.draw(SPEC).result(timeout=60)
    process.close()


def test_the_cache_key_is_the_spec_and_the_newest_files_stay(tmp_path: Path) -> None:
    same = {"encoding": SPEC["encoding"], "mark": "point", "data": SPEC["data"]}  # keys in another order
    assert SvgCache.key(same) == SvgCache.key(SPEC) != SvgCache.key({**SPEC, "mark": "line"})
    cache = SvgCache(tmp_path / "svg", keep=2)
    for i in range(3):
        cache.put(f"k{i}", f"<svg>{i}</svg>")
        (tmp_path / "svg" / f"k{i}.svg").touch()
    assert cache.get("k0") == "<svg>0</svg>"  # read: now the newest
    cache.prune()
    assert sorted(p.name for p in (tmp_path / "svg").iterdir()) == ["k0.svg", "k2.svg"]
    assert cache.get("k1") is None
