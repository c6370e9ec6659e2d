"""The whole pipeline runs on the lab's own data: every dbt model builds and every dbt test passes."""

from __future__ import annotations


def test_run_builds_every_model_and_passes_every_test(lab_run: tuple) -> None:
    _, report = lab_run
    transform, test = report.step("transform"), report.step("test")
    assert transform.status == "ok" and transform.data["counts"].get("success", 0) > 0, transform.detail
    assert test.status in ("ok", "warn") and not test.data["failures"], test.detail
