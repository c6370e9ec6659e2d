"""Readers never make a run fail: every CLI reader in a tight loop during 20 consecutive runs.

A workspace copy with lab 1 synced (real uv venv, real dbt, real DuckDB). One process in the lab's
venv runs the lab 20 times in a row (full refresh, so every run loads, builds and publishes), while
five reader processes loop over `buildcpg inspect`, `quality`, `report`, `check` and
`run --dry-run` (each reader calls the CLI's own entry point in a loop, so it hits the file many
times a second). Every run must pass, and no reader may end with a traceback or an undocumented
exit code.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from buildcpg_shared.testing import cli_env, run_cli

LAB = "lab1_sales_performance"
RUNS = 20

RUNNER = r"""
import json, sys, traceback
from pathlib import Path
from buildcpg_shared.pipeline.runner import LabRunner
from buildcpg_shared.registry import Lab

lab, runs, out = Lab.from_dir(Path(sys.argv[1])), int(sys.argv[2]), Path(sys.argv[3])
results = []
for i in range(runs):
    try:
        report = LabRunner(
            lab, full_refresh=True, echo=False, steps=["check", "load", "transform", "inspect", "publish"]
        ).run()
        results.append({"status": report.status, "error": report.error,
                        "steps": [[s.name, s.status, s.detail[:200]] for s in report.steps]})
    except BaseException:
        results.append({"status": "crashed", "error": traceback.format_exc()[-600:], "steps": []})
out.write_text(json.dumps(results))
"""

READER = r"""
import contextlib, io, json, sys, time, traceback
from pathlib import Path
from buildcpg_shared.cli.app import main

args, stop, out = json.loads(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
codes, problems, sources = {}, [], {}
while not stop.exists():
    sys.argv = ["buildcpg", *args]
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            main()
            code = 0
        except SystemExit as done:
            code = done.code or 0
        except BaseException:
            code = "traceback"
    if code == "traceback" or "Traceback" in sink.getvalue():
        problems.append(sink.getvalue()[-800:] + traceback.format_exc()[-800:])
    codes[str(code)] = codes.get(str(code), 0) + 1
    if args[0] == "inspect" and code == 0:
        source = json.loads(sink.getvalue()[sink.getvalue().index("{"):])["source"]
        sources[source] = sources.get(source, 0) + 1
    time.sleep(0.1)  # tight (several reads a second per reader), yet leaves the cores to the runs
out.write_text(json.dumps({"codes": codes, "problems": problems[:3], "sources": sources}))
"""

# what each reader may answer (docs/cli.md): 0, or for `check` 1 (files to load) and 2 (a run is on)
READERS = {
    "inspect": (["inspect", LAB, "--format", "json"], {"0"}),
    "quality": (["quality", LAB], {"0"}),
    "report": (["report", LAB, "--out", "{tmp}/report.html"], {"0"}),
    "check": (["check", LAB], {"0", "1", "2"}),
    "dry-run": (["run", LAB, "--dry-run", "--no-sync"], {"0"}),
}


@pytest.fixture
def workspace(lab1_workspace: Path) -> Path:
    """The lab 1 workspace copy after one run (so a serving copy exists)."""
    first = run_cli(lab1_workspace, "run", LAB, "--no-sync")
    assert first.returncode == 0, first.stdout + first.stderr
    return lab1_workspace


def test_every_reader_in_a_loop_never_fails_a_run(workspace: Path, tmp_path: Path) -> None:
    lab_dir = workspace / "labs" / LAB
    stop = tmp_path / "stop"
    readers = {}
    for name, (args, _) in READERS.items():
        out = tmp_path / f"{name}.json"
        argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
        proc = subprocess.Popen(
            [sys.executable, "-c", READER, json.dumps(argv), str(stop), str(out)],
            cwd=workspace,
            env=cli_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        readers[name] = (proc, out)
    results_file = tmp_path / "runs.json"
    start = time.monotonic()
    try:
        runner = subprocess.run(
            [str(lab_dir / ".venv" / "bin" / "python"), "-c", RUNNER, str(lab_dir), str(RUNS), str(results_file)],
            cwd=lab_dir,
            env=cli_env(),
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        stop.touch()
        outcomes = {}
        for name, (proc, out) in readers.items():
            _, err = proc.communicate(timeout=120)
            outcomes[name] = json.loads(out.read_text()) if out.exists() else {"crashed": err[-800:]}
    took = time.monotonic() - start
    assert runner.returncode == 0, runner.stderr[-2000:]
    results = json.loads(results_file.read_text())
    assert len(results) == RUNS
    failed = [(i, r["error"], r["steps"]) for i, r in enumerate(results) if r["status"] not in ("ok", "warn")]
    assert not failed, f"{len(failed)} of {RUNS} runs failed while readers ran; first: {failed[0]}"
    for name, (_, allowed) in READERS.items():
        outcome = outcomes[name]
        assert "crashed" not in outcome, f"{name} reader crashed: {outcome}"
        assert not outcome["problems"], f"{name} showed a traceback: {outcome['problems'][0]}"
        assert set(outcome["codes"]) <= allowed, f"{name} exit codes {outcome['codes']}, allowed {allowed}"
        assert sum(outcome["codes"].values()) >= 5, f"{name} hardly ran: {outcome['codes']}"
    # the readers really overlapped the runs: some saw the serving copy (a run was on)
    assert outcomes["inspect"]["sources"].get("serving"), outcomes["inspect"]
    codes = {n: o["codes"] for n, o in outcomes.items()}
    print(f"{RUNS} runs with readers in {took:.0f}s; reader exit codes: {codes}")


HOLD_LAB_LOCK = """
import sys, time
from pathlib import Path
from buildcpg_shared.lab_lock import LabLock
with LabLock(Path(sys.argv[1]), "lab9_tiny"):
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_readers_look_at_the_lab_lock_before_the_database(tiny_lab: Path) -> None:
    """A run holds the lab lock (not yet the DuckDB file): readers still keep off the working database."""
    command = [sys.executable, "-m", "buildcpg_shared.cli.lab", "--lab-dir", str(tiny_lab)]
    done = subprocess.run([*command, "run", "--steps", "check,load,publish"], env=cli_env(), capture_output=True)
    assert done.returncode == 0, done.stdout
    root = tiny_lab.parents[1]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LAB_LOCK, str(tiny_lab / "data" / ".buildcpg.lock")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        busy = f"lab lab9_tiny is being written by a run (pid {holder.pid} on "
        inspect = run_cli(root, "inspect", "lab9_tiny", "--format", "json")
        assert inspect.returncode == 0 and busy in inspect.stderr, inspect.stderr
        assert json.loads(inspect.stdout)["source"] == "serving"
        lab_inspect = subprocess.run([*command, "inspect"], env=cli_env(), capture_output=True, text=True)
        assert lab_inspect.returncode == 0 and "showing the serving copy" in lab_inspect.stderr
        check = run_cli(root, "check", "lab9_tiny")
        assert check.returncode == 2 and "is being run right now" in check.stderr, check.stderr
        dry = run_cli(root, "run", "lab9_tiny", "--dry-run", "--no-sync")
        assert dry.returncode == 0 and "a run is on" in dry.stdout, dry.stdout
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    after = run_cli(root, "inspect", "lab9_tiny", "--format", "json")
    assert after.returncode == 0 and json.loads(after.stdout)["source"] == "database"
