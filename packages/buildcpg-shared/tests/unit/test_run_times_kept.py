"""dbt's run_results of each run are kept per run id (for the report's run-time trends) and pruned."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from buildcpg_shared.quality.run_times import keep_run_times, kept_runs


def _write(path: Path, seconds: float, mtime: float | None = None) -> None:
    results = [{"unique_id": "model.x.m", "execution_time": seconds}]
    path.write_text(json.dumps({"results": results}))
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def test_each_run_keeps_its_own_copy_and_only_the_newest_stay(tmp_path: Path) -> None:
    target, kept = tmp_path / "target", tmp_path / "kept"
    target.mkdir()
    for i in range(5):
        since = time.time()
        _write(target / "run_results.build.json", float(i))
        assert keep_run_times(target, kept, f"run{i}", since, keep=3) is not None
        time.sleep(1.05)  # names carry the second
    runs = kept_runs(kept, last=10)
    assert [r[0] for r in runs] == ["run2", "run3", "run4"]  # pruned to the newest 3, oldest first
    assert [r[2][0]["execution_time"] for r in runs] == [2.0, 3.0, 4.0]  # each its own run's times
    assert runs[0][1] < runs[1][1] < runs[2][1]
    assert [r[0] for r in kept_runs(kept, last=2)] == ["run3", "run4"]


def test_a_run_that_built_nothing_keeps_nothing(tmp_path: Path) -> None:
    target, kept = tmp_path / "target", tmp_path / "kept"
    target.mkdir()
    _write(target / "run_results.build.json", 1.0, mtime=time.time() - 3600)  # an older run's file
    assert keep_run_times(target, kept, "r1", time.time()) is None
    assert kept_runs(kept, last=5) == []
    _write(target / "run_results.run.json", 2.0)  # dbt run alone (Transform without Test) counts
    assert keep_run_times(target, kept, "r2", time.time() - 0.5) is not None
    assert [(r[0], r[2][0]["execution_time"]) for r in kept_runs(kept, last=5)] == [("r2", 2.0)]
