"""One ``dbt build`` pass for Transform + Test, still reported as two steps (docs/lab-runner.md).

Copies of lab 1 are run with the real runner and real dbt in the lab's own venv, one process for all
of them (dbt imported once): a clean run, a run where an error-severity data test fails (dbt skips the
models downstream of it), and a run where a model fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from buildcpg_shared.pipeline.dbt_invoke import dbt_threads
from buildcpg_shared.report.history import model_run_times
from buildcpg_shared.testing import cli_env, copy_lab

LAB = "lab1_sales_performance"
TESTED = "int_sku_daily_units"  # a silver model with models downstream of it

RUN_EACH = r"""
import json, sys
from pathlib import Path
from buildcpg_shared.testing import run_lab_dir

for lab_dir in sys.argv[1:]:
    _, report = run_lab_dir(Path(lab_dir), echo=False)
    print("@@" + json.dumps(report.to_dict(), default=str), flush=True)
"""


def _run_each(python: Path, lab_dirs: list[Path]) -> list[dict[str, Any]]:
    done = subprocess.run(
        [str(python), "-c", RUN_EACH, *map(str, lab_dirs)], env=cli_env(), capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return [json.loads(line[2:]) for line in done.stdout.splitlines() if line.startswith("@@")]


def _steps(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in report["steps"]}


def _downstream_models(target: Path, uid: str) -> set[str]:
    """Every model below ``uid`` in dbt's own graph (manifest ``child_map``), by name."""
    manifest = json.loads((target / "manifest.json").read_text())
    children, seen, todo = manifest["child_map"], set(), [uid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child.startswith("model.") and child not in seen:
                seen.add(child)
                todo.append(child)
    return {manifest["nodes"][c]["name"] for c in seen}


@pytest.fixture(scope="module")
def runs(lab1_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """(lab copy, report) of a clean run, then of a copy with a failing test and of one with a failing model."""
    tmp = tmp_path_factory.mktemp("build_pass")
    python = lab1_workspace / "labs" / LAB / ".venv" / "bin" / "python"
    clean = copy_lab(lab1_workspace / "labs" / LAB, tmp / "clean")
    [baseline] = _run_each(python, [clean])
    assert baseline["status"] in ("ok", "warn"), baseline["error"]

    failing_test = shutil.copytree(clean, tmp / "failing_test" / LAB)
    (failing_test / "dbt" / "tests" / "assert_no_sku_sells_a_unit.sql").write_text(
        f"-- a rule the data breaks (error severity, dbt's default)\nselect * from {{{{ ref('{TESTED}') }}}}\n"
    )
    failing_model = shutil.copytree(clean, tmp / "failing_model" / LAB)
    mart = failing_model / "dbt" / "models" / "marts" / "zz_broken_mart.sql"
    mart.write_text(f"select no_such_column from {{{{ ref('{TESTED}') }}}}\n")
    test_report, model_report = _run_each(python, [failing_test, failing_model])
    return {
        "clean": (clean, baseline),
        "failing_test": (failing_test, test_report),
        "failing_model": (failing_model, model_report),
    }


def test_one_build_is_still_reported_as_transform_then_test(runs: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    lab_dir, report = runs["clean"]
    steps = _steps(report)
    assert [s["name"] for s in report["steps"]] == ["check", "load", "transform", "test", "inspect", "publish"]
    transform, test = steps["transform"], steps["test"]
    assert transform["status"] == "ok" and "model(s):" in transform["detail"] and "skipped" not in transform["detail"]
    assert test["status"] in ("ok", "warn") and "test(s):" in test["detail"]
    assert set(test["data"]["freshness"]) <= {"pass", "warn"} and test["data"]["freshness"]  # freshness ran
    # the build's wall time shared between the two steps: each has a part, together no more than the run
    assert transform["duration_s"] > 0 and test["duration_s"] > 0
    assert sum(s["duration_s"] for s in report["steps"]) <= report["duration_s"]
    # one build: its results are kept, and the report's model timings read them
    target = lab_dir / "dbt" / "target"
    kept = json.loads((target / "run_results.build.json").read_text())
    assert kept["args"]["which"] == "build" and not (target / "run_results.run.json").exists()
    models = model_run_times(target)
    assert len(models) == transform["data"]["counts"]["success"] and all(m["status"] == "success" for m in models)
    # threads: a lab run alone uses every core
    assert kept["args"]["threads"] == dbt_threads() == (os.cpu_count() or 1)


def test_a_failing_test_skips_the_models_below_it_and_says_so(runs: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    lab_dir, report = runs["failing_test"]
    steps = _steps(report)
    below = _downstream_models(lab_dir / "dbt" / "target", f"model.{LAB}.{TESTED}")
    assert below  # the scenario needs models downstream of the tested one
    transform, test = steps["transform"], steps["test"]
    # Transform built what it could: ok, and the models dbt skipped are named, not silently missing
    assert transform["status"] == "ok", transform
    assert f"{len(below)} skipped (upstream test failed): " in transform["detail"], transform["detail"]
    named = transform["detail"].split("(upstream test failed): ", 1)[1].split(";")[0].split(", ")
    assert set(named) == below
    assert transform["data"]["counts"]["skipped"] == len(below)
    # Test failed on the new test; the score is gated to 0 and the last good serving copy stays
    assert test["status"] == "failed" and "assert_no_sku_sells_a_unit" in test["detail"], test["detail"]
    quality = steps["inspect"]["data"]["quality"]
    assert (quality["score"], quality["passed"], quality["gate"]) == (0, False, "test failed")
    assert steps["publish"]["status"] == "skipped"
    assert report["error"].startswith("test failed: ") and "assert_no_sku_sells_a_unit" in report["error"]
    assert sum(s["duration_s"] for s in report["steps"]) <= report["duration_s"]


def test_a_failing_model_shows_dbt_error_line(runs: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    lab_dir, report = runs["failing_model"]
    steps = _steps(report)
    transform = steps["transform"]
    assert transform["status"] == "failed"
    assert "zz_broken_mart (models/marts/zz_broken_mart.sql): Binder Error" in transform["detail"], transform
    assert "no_such_column" in transform["detail"]
    # Test is not scored after a failed Transform, as when dbt test did not run after it
    assert steps["test"]["status"] == "skipped" and steps["test"]["detail"].startswith("transform failed")
    assert steps["inspect"]["data"]["quality"]["gate"].startswith("transform failed")
    assert steps["publish"]["status"] == "skipped"  # the run's one line names the model and dbt's error
    assert report["error"].startswith("transform failed: ") and "zz_broken_mart" in report["error"]
    broken = next(m for m in model_run_times(lab_dir / "dbt" / "target") if m["name"] == "zz_broken_mart")
    assert broken["status"] == "error" and "Binder Error" in broken["error"]
