"""The graph of labs: order from lab.yaml ``inputs``, cycles and unknown labs as one line, and
``run_labs`` starting a lab only after its upstreams, skipping it when one failed.

The scheduling tests run real lab processes (``buildcpg-lab run --steps check,load`` on tiny labs, in
this test's Python: the tiny labs' venv is a two-line script that execs it), so each lab's start and
end are real process events.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from buildcpg_shared.errors import ConfigError
from buildcpg_shared.history import History
from buildcpg_shared.orchestrate.graph import downstream_of, find_cycle, lab_graph, levels
from buildcpg_shared.orchestrate.parallel import new_progress, run_labs
from buildcpg_shared.registry import Workspace
from buildcpg_shared.run_record import RunOptions
from conftest import tiny_labs_workspace as _workspace


def test_levels_order_labs_after_what_they_read(tmp_path: Path) -> None:
    ws = _workspace(
        tmp_path / "ws", {"lab1_a": [], "lab2_b": [], "lab3_c": [], "lab4_d": ["lab1_a", "lab2_b", "lab3_c"]}
    )
    graph = lab_graph(ws.labs())
    assert levels(graph, graph) == [["lab1_a", "lab2_b", "lab3_c"], ["lab4_d"]]
    assert levels(graph, ["lab4_d"]) == [["lab4_d"]]  # an upstream not being run is not waited for
    assert downstream_of(graph, ["lab1_a"]) == {"lab4_d"}
    assert downstream_of(graph, ["lab4_d"]) == set()


def test_a_cycle_is_one_line_naming_the_labs(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "ws", {"lab1_a": ["lab3_c"], "lab2_b": ["lab1_a"], "lab3_c": ["lab2_b"], "lab4_d": []})
    with pytest.raises(ConfigError) as raised:
        lab_graph(ws.labs())
    line = str(raised.value)
    assert "\n" not in line and line.startswith("labs read each other in a cycle through their inputs: ")
    cycle = line.split(": ", 1)[1].split(" → ")
    assert cycle[0] == cycle[-1] and set(cycle) == {"lab1_a", "lab2_b", "lab3_c"}
    assert find_cycle({"x": ["y"], "y": []}) == []


def test_an_unknown_upstream_is_one_line(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "ws", {"lab1_a": ["lab9_gone"]})
    with pytest.raises(ConfigError, match="inputs name lab lab9_gone, which is not a lab of this workspace"):
        lab_graph(ws.labs())


def _run(ws: Workspace, jobs: int, **kw: object) -> dict[str, object]:
    labs = ws.labs()
    progress = new_progress(labs)
    run_labs(ws, labs, RunOptions(steps=("check", "load")), jobs=jobs, progress=progress, graph=lab_graph(labs), **kw)
    return progress


def test_a_lab_starts_after_its_upstreams_and_independent_labs_overlap(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "ws", {"lab1_a": [], "lab2_b": [], "lab4_d": ["lab1_a", "lab2_b"]})
    progress = _run(ws, jobs=3)
    a, b, d = progress["lab1_a"], progress["lab2_b"], progress["lab4_d"]
    assert a.state == b.state == "ok", (a.error, b.error)
    # lab4_d's Check fails (nothing published: these tiny labs have no gold), but it ran, and only after both
    assert d.state == "failed" and "has not published yet" in d.steps["check"].detail
    assert d.started >= max(a.finished, b.finished)
    assert a.started < b.finished and b.started < a.finished  # the two independent labs ran at the same time


def test_a_failed_upstream_skips_its_readers_and_the_others_still_run(tmp_path: Path) -> None:
    ws = _workspace(
        tmp_path / "ws",
        {"lab1_a": [], "lab2_b": [], "lab3_c": [], "lab4_d": ["lab1_a", "lab2_b"], "lab5_e": ["lab4_d"]},
        broken=("lab1_a",),
    )
    progress = _run(ws, jobs=2)
    assert progress["lab1_a"].state == "failed"
    assert progress["lab2_b"].state == progress["lab3_c"].state == "ok"
    assert progress["lab4_d"].state == "skipped" and progress["lab4_d"].started is None
    assert progress["lab4_d"].error.startswith("skipped (upstream failed): lab1_a (failed)")
    assert progress["lab5_e"].state == "skipped" and "lab4_d (skipped)" in progress["lab5_e"].error
    rows = {r.lab: r.status for r in History.for_state_dir(ws.state_dir).lab_runs(last=20)}
    assert rows["lab4_d"] == rows["lab5_e"] == "skipped"
    assert History.for_state_dir(ws.state_dir).last_started("lab4_d") is None  # a skipped lab never ran


def test_allow_stale_runs_the_reader_on_the_last_published_version(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "ws", {"lab1_a": [], "lab4_d": ["lab1_a"]}, broken=("lab1_a",))
    progress = _run(ws, jobs=2, allow_stale=True)
    assert progress["lab1_a"].state == "failed"
    assert progress["lab4_d"].started is not None and progress["lab4_d"].state != "skipped"


def _publish(ws: Workspace, lab: str) -> Path:
    """A real publish of an (empty) gold schema: the serving copy swapped in by rename."""
    import duckdb
    from buildcpg_shared.serving.publish import publish

    con = duckdb.connect()
    con.execute("create schema gold")
    serving = ws.lab(lab).paths.serving_file
    publish(con, serving, lab=lab, run_id="r", version=1)
    con.close()
    return serving


def test_watch_runs_the_reader_when_its_upstream_publishes(tmp_path: Path) -> None:
    """A real watchdog observer on the upstream's serving folder: a publish runs the reader, once."""
    import threading
    import time

    from buildcpg_shared.orchestrate.watch import LabWatcher

    ws = _workspace(tmp_path / "ws", {"lab1_a": [], "lab2_b": [], "lab4_d": ["lab1_a"]})
    started: list[str] = []
    watcher = LabWatcher(ws.labs(), lambda lab: started.append(lab.name), debounce=0.3)
    thread = threading.Thread(target=watcher.serve, kwargs={"tick": 0.05}, daemon=True)
    thread.start()
    time.sleep(0.3)
    try:
        _publish(ws, "lab2_b")  # nobody reads lab2_b
        _publish(ws, "lab1_a")
        end = time.monotonic() + 10
        while "lab4_d" not in started and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(0.6)  # more than the debounce: a second run would have started by now
    finally:
        watcher.close(timeout=5)
    assert started == ["lab4_d"]


def test_due_takes_readers_whose_upstream_published_since_their_last_run(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from buildcpg_shared.history import LabRunRecord
    from buildcpg_shared.orchestrate.schedule import is_due, upstream_published_since

    ws = _workspace(tmp_path / "ws", {"lab1_a": [], "lab4_d": ["lab1_a"]})
    history = History.for_state_dir(ws.state_dir)
    reader = ws.lab("lab4_d")
    assert not is_due(reader, history)  # never ran, no schedule, nothing published: nothing to read
    before = (datetime.now(UTC) - timedelta(minutes=5)).isoformat(timespec="seconds")
    run_id = history.start_run("test", 1, started_at=before)
    history.record_lab(
        run_id, LabRunRecord.from_steps("lab4_d", "ok", started_at=before, finished_at=before, duration_s=1.0)
    )
    assert not is_due(reader, history)
    _publish(ws, "lab1_a")  # published after lab4_d's last run started
    assert upstream_published_since(reader, history.last_started("lab4_d")) == ["lab1_a"]
    assert is_due(reader, history)


def test_run_labs_refuses_a_cycle_it_was_handed_instead_of_waiting_forever(tmp_path: Path) -> None:
    from buildcpg_shared.errors import BuildCPGError

    ws = _workspace(tmp_path / "ws", {"lab1_a": [], "lab2_b": []})
    labs = ws.labs()
    cycle = r"^labs wait on each other \(a cycle through their inputs\): lab\d_\w, lab\d_\w$"
    with pytest.raises(BuildCPGError, match=cycle):
        run_labs(ws, labs, ["--steps", "check"], jobs=2, graph={"lab1_a": ["lab2_b"], "lab2_b": ["lab1_a"]})
