"""The quality score reacts to real situations, built for real on copies of this lab.

A baseline run of a lab copy is scored; each scenario copies that baseline (database included),
changes one thing the way it happens in practice, runs the whole pipeline again with real dbt,
and checks that the weighted score of the parts dropped by the documented amount: 100 x weight x
(drop of the part's value) / sum of weights, with every other part unchanged (docs/quality.md).
A run whose Transform or Test failed scores 0 whatever its parts say.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml
from buildcpg_shared.pipeline.runner import RunReport
from buildcpg_shared.registry import Lab
from buildcpg_shared.report.html import render_report
from buildcpg_shared.testing import copy_lab, run_lab_dir

LAB_DIR = Path(__file__).resolve().parents[1]


def _run(lab_dir: Path) -> tuple[Lab, RunReport]:
    return run_lab_dir(lab_dir, echo=False)


def _quality(report: RunReport) -> dict:
    step = report.step("inspect")
    assert step is not None and "parts" in step.data.get("quality", {}), (report.error, step)
    return step.data["quality"]


def _parts(quality: dict) -> dict[str, dict]:
    return {p["name"]: p for p in quality["parts"]}


def _test_count(detail: str) -> int:
    """Tests counted in a tests part's detail, e.g. '75 pass, 1 warn' -> 76."""
    return sum(int(item.split()[0]) for item in detail.split(", "))


def _expected_drop(before: dict, after: dict, part: str) -> float:
    parts = _parts(before)
    total = sum(p["weight"] for p in parts.values())
    return 100 * parts[part]["weight"] * (parts[part]["value"] - _parts(after)[part]["value"]) / total


def _assert_only(before: dict, after: dict, part: str) -> None:
    """``part`` changed, no other part did, and the weighted score fell by exactly its weighted change."""
    for name, p in _parts(before).items():
        if name != part:
            assert _parts(after)[name]["value"] == pytest.approx(p["value"]), name
    drop = before["weighted"] - after["weighted"]
    assert drop > 0
    assert drop == pytest.approx(_expected_drop(before, after, part), abs=0.011)  # scores are rounded to 0.01


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A lab copy after one full run (its folder, with database and dbt target, and its quality)."""
    lab_dir = copy_lab(LAB_DIR, tmp_path_factory.mktemp("baseline"))
    _, report = _run(lab_dir)
    assert report.ok, report.error
    return lab_dir, _quality(report)


def _stored_lab_score(lab_dir: Path, run_id: str) -> tuple[float, bool, str]:
    """(score, passed, gate) of one run's lab scope in quality_history: what the CLI and the report read."""
    with duckdb.connect(str(lab_dir / "data" / f"{lab_dir.name}.duckdb"), read_only=True) as con:
        row = con.execute(
            "select score, passed, gate from _buildcpg.quality_history where scope = 'lab' and run_id = ?", [run_id]
        ).fetchone()
    assert row is not None, run_id
    return float(row[0]), bool(row[1]), str(row[2])


def _scenario(baseline: tuple[Path, dict], tmp_path: Path) -> Path:
    lab_dir = tmp_path / baseline[0].name
    shutil.copytree(baseline[0], lab_dir, ignore=shutil.ignore_patterns(".buildcpg*"))
    return lab_dir


def _edit_lab_yaml(lab_dir: Path, **quality: object) -> None:
    path = lab_dir / "lab.yaml"
    data = yaml.safe_load(path.read_text())
    data.setdefault("quality", {}).update(quality)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_baseline_scores_every_part(baseline: tuple[Path, dict]) -> None:
    lab_dir, quality = baseline
    parts = _parts(quality)
    assert list(parts) == ["tests", "validity", "completeness", "uniqueness", "freshness", "volume"]
    assert [p["weight"] for p in parts.values()] == [30, 20, 15, 15, 10, 10]
    assert quality["passed"] and quality["score"] >= 80 and quality["score"] == quality["weighted"]
    assert quality["gate"] == ""
    with duckdb.connect(str(lab_dir / "data" / f"{lab_dir.name}.duckdb"), read_only=True) as con:
        tests = con.execute("select count(*) from _buildcpg.test_results where kind = 'test'").fetchone()[0]
        loaded, rejected = con.execute("select sum(rows), sum(rejected) from _buildcpg.ledger").fetchone()
        scopes = {r[0] for r in con.execute("select scope from _buildcpg.quality_history").fetchall()}
    assert _test_count(parts["tests"]["detail"]) == tests
    assert parts["validity"]["value"] == pytest.approx(1 - rejected / (loaded + rejected))
    assert {"lab", "gold.store_ranking", "gold.sku_performance"} <= scopes


def test_a_failing_dbt_test_lowers_the_tests_part(baseline: tuple[Path, dict], tmp_path: Path) -> None:
    lab_dir = _scenario(baseline, tmp_path)
    (lab_dir / "dbt" / "tests" / "assert_no_store_sells_above_1000_lines.sql").write_text(
        "-- a rule the data breaks: some stores have more than 1000 sales lines\n"
        "select store_id, transactions from {{ ref('store_ranking') }} where transactions > 1000\n"
    )
    _, report = _run(lab_dir)
    after, before = _quality(report), baseline[1]
    assert report.step("test").status == "failed"  # type: ignore[union-attr]
    n_before = _test_count(_parts(before)["tests"]["detail"])
    expected = _parts(before)["tests"]["value"] * n_before / (n_before + 1)  # one more test, worth 0
    assert _parts(after)["tests"]["value"] == pytest.approx(expected)
    _assert_only(before, after, "tests")
    assert after["tables"]["gold.store_ranking"]["score"] < before["tables"]["gold.store_ranking"]["score"]
    # Test failed: the run's score is 0, below min_score, never a green near-100; the parts stay shown
    assert (after["score"], after["passed"], after["gate"]) == (0, False, "test failed")
    assert after["weighted"] > 80 and not report.ok
    assert _stored_lab_score(lab_dir, report.run_id) == (0, False, "test failed")
    with duckdb.connect(str(lab_dir / "data" / f"{lab_dir.name}.duckdb"), read_only=True) as con:
        row = con.execute(
            "select status, failures, relation from _buildcpg.test_results "
            "where name = 'assert_no_store_sells_above_1000_lines' and run_id = ?",
            [report.run_id],
        ).fetchone()
    assert row is not None and row[0] == "fail" and row[1] > 0 and row[2] == "gold.store_ranking"


def test_a_stale_source_lowers_the_freshness_part(baseline: tuple[Path, dict], tmp_path: Path) -> None:
    lab_dir = _scenario(baseline, tmp_path)
    # stores.csv was last loaded three days ago; the SLA in lab.yaml says: warn after two days
    with duckdb.connect(str(lab_dir / "data" / f"{lab_dir.name}.duckdb")) as con:
        con.execute("update raw.stores set _loaded_at = _loaded_at - interval 72 hour")
    _edit_lab_yaml(lab_dir, freshness={"warn_after_hours": 48, "error_after_hours": 720})
    _, report = _run(lab_dir)
    after, before = _quality(report), baseline[1]
    assert report.step("test").status == "warn"  # type: ignore[union-attr]
    assert _parts(after)["freshness"]["value"] == pytest.approx(3.5 / 4)  # 4 sources, stores in warn
    assert "raw.stores warn" in _parts(after)["freshness"]["detail"]
    _assert_only(before, after, "freshness")
    assert before["score"] - after["score"] == pytest.approx(1.25, abs=0.011)  # 10 x (1 - 3.5/4)


def test_a_spike_in_rejects_lowers_the_validity_part(baseline: tuple[Path, dict], tmp_path: Path) -> None:
    lab_dir = _scenario(baseline, tmp_path)
    source = lab_dir / "data" / "raw" / "sales_2026_06.csv"
    with source.open(newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:301]
    units = header.index("units")
    with (lab_dir / "data" / "raw" / "sales_2026_07.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i, row in enumerate(body):  # a broken export: every units value is text
            writer.writerow([f"J{i:09d}", *row[1:units], "n/a", *row[units + 1 :]])
    # lab1 refuses a file with over 1% bad lines (max_reject_rate); a lab that accepts them must see
    # the spike in its score instead, so this copy lifts the threshold for sales.
    path = lab_dir / "lab.yaml"
    data = yaml.safe_load(path.read_text())
    data["sources"]["sales"]["max_reject_rate"] = 1.0
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    _, report = _run(lab_dir)
    after, before = _quality(report), baseline[1]
    assert report.step("load").data["rejected"] == 300  # type: ignore[union-attr]
    loaded = int(_parts(before)["validity"]["detail"].split(" of ")[1].split()[0].replace(",", ""))
    rejected_before = int(_parts(before)["validity"]["detail"].split()[0].replace(",", ""))
    assert _parts(after)["validity"]["value"] == pytest.approx(1 - (rejected_before + 300) / (loaded + 300))
    _assert_only(before, after, "validity")


def test_a_dropped_volume_is_flagged_and_fails_the_threshold(baseline: tuple[Path, dict], tmp_path: Path) -> None:
    lab_dir = _scenario(baseline, tmp_path)
    raw = lab_dir / "data" / "raw"
    for name in ("sales_2026_04.csv", "sales_2026_05.csv", "sales_2026_06.csv"):  # re-exported, truncated
        lines = (raw / name).read_text().splitlines(keepends=True)
        (raw / name).write_text("".join(lines[:11]))
    _edit_lab_yaml(lab_dir, min_score=95)
    _, report = _run(lab_dir)
    after, before = _quality(report), baseline[1]
    volume = _parts(after)["volume"]
    assert volume["value"] == 0 and volume["flagged"] and "(drop)" in volume["detail"]
    assert _expected_drop(before, after, "volume") == pytest.approx(10)  # the whole weight of volume
    for name in ("tests", "completeness", "uniqueness", "freshness"):
        assert _parts(after)[name]["value"] == pytest.approx(_parts(before)[name]["value"]), name
    # validity moves only as far as the removed lines held rejects: recompute it from the ledger
    with duckdb.connect(str(lab_dir / "data" / f"{lab_dir.name}.duckdb"), read_only=True) as con:
        loaded, rejected = con.execute("select sum(rows), sum(rejected) from _buildcpg.ledger").fetchone()
    assert _parts(after)["validity"]["value"] == pytest.approx(1 - rejected / (loaded + rejected))
    assert before["score"] - after["score"] == pytest.approx(
        sum(_expected_drop(before, after, p) for p in ("volume", "validity")), abs=0.011
    )
    # below the lab's threshold (95 here): the run fails and the serving copy is not replaced
    assert not report.ok and report.step("inspect").status == "failed"  # type: ignore[union-attr]
    assert "below the threshold" in report.step("inspect").detail  # type: ignore[union-attr]
    assert report.step("publish").status == "skipped"  # type: ignore[union-attr]
    # nothing new, but a failed step is never "up to date": dbt builds and tests again, and the
    # score, measured again on the same data, still fails the run
    _, rerun = _run(lab_dir)
    assert rerun.step("transform").status == "ok"  # type: ignore[union-attr]
    assert "carried from run" not in rerun.step("inspect").detail  # type: ignore[union-attr]
    assert not rerun.ok and "below the threshold" in rerun.step("inspect").detail  # type: ignore[union-attr]
    with duckdb.connect(str(lab_dir / "data" / ".publish" / f"{lab_dir.name}.meta.duckdb"), read_only=True) as meta:
        first_run = meta.execute("select run_id from _buildcpg.quality_history order by scored_at limit 1").fetchone()
    with duckdb.connect(str(lab_dir / "data" / "serving" / f"{lab_dir.name}.duckdb"), read_only=True) as con:
        assert con.execute("select version, run_id from _buildcpg_version").fetchone() == (1, first_run[0])


def test_a_failed_transform_scores_zero_not_the_last_green_score(baseline: tuple[Path, dict], tmp_path: Path) -> None:
    lab_dir = _scenario(baseline, tmp_path)
    (lab_dir / "dbt" / "models" / "marts" / "broken_mart.sql").write_text("select * from no_such_table\n")
    lab, report = _run(lab_dir)
    assert report.step("transform").status == "failed"  # type: ignore[union-attr]
    after, before = _quality(report), baseline[1]
    assert after["score"] == 0 and not after["passed"] and after["gate"].startswith("transform failed")
    assert [(p["name"], p["weight"], p["value"]) for p in after["parts"]] == [
        (p["name"], p["weight"], p["value"]) for p in before["parts"]
    ]  # every part and weight still shown (carried: dbt tested nothing this run)
    assert not report.ok and report.error.startswith("transform failed: ")  # one cause, named once
    assert "broken_mart" in report.error and report.error.count("failed:") == 1
    assert _stored_lab_score(lab_dir, report.run_id)[:2] == (0, False)  # what `buildcpg quality` and the report read
    html = render_report([lab])
    assert '<strong class="fail">0.0 / 100</strong>' in html and "0 because transform failed" in html


def test_an_idle_rerun_carries_the_last_test_warn(baseline: tuple[Path, dict], tmp_path: Path) -> None:
    lab_dir = _scenario(baseline, tmp_path)
    # the copy is up to date (its build key holds no absolute path): a full refresh builds and tests once here
    _, first = run_lab_dir(lab_dir, echo=False, full_refresh=True)
    assert first.step("test").status == "warn" and first.status == "warn"  # type: ignore[union-attr]
    assert "1 warn" in _parts(_quality(first))["tests"]["detail"]  # lab1's duplicate transaction line
    _, rerun = _run(lab_dir)  # nothing new: dbt is skipped, the duplicate is still there
    assert rerun.step("transform").status == "skipped" and rerun.step("test").status == "skipped"  # type: ignore[union-attr]
    inspect = rerun.step("inspect")
    assert inspect is not None and inspect.status == "warn" and rerun.status == "warn"
    assert f"carried from run {first.run_id}" in inspect.detail
    carried, before = inspect.data["quality"], _quality(first)
    assert carried["carried_from"] == first.run_id
    assert carried["score"] == before["score"] and carried["parts"] == before["parts"]


def _add_month(raw: Path, name: str, prefix: str, lines: int | None = None) -> int:
    """A new monthly file: June's lines with new transaction ids (the first ``lines`` of them)."""
    with (raw / "sales_2026_06.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    body = rows[1:] if lines is None else rows[1 : 1 + lines]
    with (raw / name).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(rows[0])
        writer.writerows([f"{prefix}{i:09d}", *row[1:]] for i, row in enumerate(body))
    return len(body)


def test_volume_compares_a_new_month_with_typical_months(baseline: tuple[Path, dict], tmp_path: Path) -> None:
    """Six months at once, then a month: not a drop against the full load. Then a month of 20 lines:
    the raw table still grows, but the increment is far below a typical month, so volume is flagged."""
    lab_dir = _scenario(baseline, tmp_path)
    raw = lab_dir / "data" / "raw"
    _add_month(raw, "sales_2026_07.csv", "N")
    _, july = _run(lab_dir)
    volume = _parts(_quality(july))["volume"]
    assert july.ok and volume["value"] == 1 and not volume["flagged"], volume["detail"]
    assert "no typical increment yet" in volume["detail"]  # the full load is not a typical increment
    _add_month(raw, "sales_2026_08.csv", "A", lines=20)
    _, august = _run(lab_dir)
    after = _quality(august)
    volume = _parts(after)["volume"]
    assert volume["flagged"] and volume["value"] == 0, volume["detail"]
    assert "20 new rows vs median" in volume["detail"] and "(drop)" in volume["detail"]
    assert _parts(after)["tests"]["value"] == pytest.approx(_parts(_quality(july))["tests"]["value"])
