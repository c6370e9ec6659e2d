"""The whole pipeline runs on the lab's own data: every dbt model builds and every dbt test passes.

The exact outcome on the shipped sample data and the tracked input snapshots: every step ok (no warn),
one success per model file, every data test a pass, quality 100, one published version.
"""

from __future__ import annotations

from pathlib import Path

STEPS = ["check", "load", "transform", "test", "inspect", "publish"]
DATA_TESTS = 18  # the data_tests of models/*/*.yml on lab 4's gold (not_null, unique, …)


def test_run_builds_every_model_and_passes_every_test(lab_run: tuple, lab_dir: Path) -> None:
    _, report = lab_run
    assert report.status == "ok" and not report.error, report.error
    assert [(s.name, s.status) for s in report.steps] == [(name, "ok") for name in STEPS], report.steps
    models = sorted((lab_dir / "dbt" / "models").rglob("*.sql"))
    transform, test = report.step("transform"), report.step("test")
    assert transform.data["counts"] == {"success": len(models)} and not transform.data["failures"], transform.detail
    assert transform.detail == f"{len(models)} model(s): {len(models)} success"
    assert test.data["counts"] == {"pass": DATA_TESTS} and not test.data["failures"], test.detail
    assert test.detail == f"{DATA_TESTS} test(s): {DATA_TESTS} pass"
    quality = report.step("inspect").data["quality"]
    assert quality["score"] == 100.0 and quality["passed"], quality
    assert report.step("load").rows == 9  # the planning hierarchy: 9 SKUs, none quarantined
    assert report.step("publish").detail.startswith("version 1: 4 gold table(s)")
