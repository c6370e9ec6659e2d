"""The platform CLI against a real copy of this workspace: real uv venvs, real dbt, real DuckDB.

The copy holds pyproject.toml, uv.lock, packages/ and labs/ (without venvs or databases); each
test syncs lab venvs there with the real uv (from the warm cache) and runs real labs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.registry import Workspace
from buildcpg_shared.testing import chromium_dump_dom, chromium_or_skip, copy_workspace
from buildcpg_shared.testing import cli_env as _env
from buildcpg_shared.testing import run_cli as _cli
from conftest import WORKSPACE_ROOT

LAB = "lab1_sales_performance"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the workspace with every lab's venv synced (once per module; warm uv cache)."""
    root = copy_workspace(WORKSPACE_ROOT, tmp_path_factory.mktemp("ws") / "buildcpg-labs")
    result = _cli(root, "sync")
    assert result.returncode == 0, result.stdout + result.stderr
    return root


@pytest.fixture
def built(workspace: Path) -> Path:
    """The workspace with lab 1 run to the end just now (gold, quality score, serving copy): each test
    that reads them builds them itself, whatever ran before it (dbt is skipped when nothing changed)."""
    ran = _cli(workspace, "run", LAB, "--no-sync")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return workspace


def _last_run(root: Path) -> dict[str, object]:
    return json.loads((root / "labs" / LAB / "data" / "last_run.json").read_text())


def _steps(report: dict[str, object]) -> dict[str, dict[str, object]]:
    return {s["name"]: s for s in report["steps"]}  # type: ignore[index,union-attr]


def test_help_on_every_command(tiny_lab: Path) -> None:
    """Every command the typer app registers (derived from the app: a new command is covered at once)."""
    import typer.main
    from buildcpg_shared.cli.app import app

    commands = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    assert {"labs", "run", "runs", "status", "schedule", "new-lab"} <= set(commands), commands
    root = tiny_lab.parents[1]
    top = _cli(root, "--help")
    assert top.returncode == 0 and "Usage" in top.stdout, top.stderr
    for command in commands:
        result = _cli(root, command, "--help")
        usage = next((line for line in result.stdout.splitlines() if "Usage" in line), "")
        assert result.returncode == 0 and f" {command} " in usage, (command, result.stdout + result.stderr)
        assert command in top.stdout, f"{command} is not listed by `buildcpg --help`"


def test_lab_venv_has_dbt_and_root_has_not(workspace: Path) -> None:
    lab_python = workspace / "labs" / LAB / ".venv" / "bin" / "python"
    probe = "import importlib.util as u; print(*(u.find_spec(m) is not None for m in ('dbt', 'dbt.adapters.duckdb')))"
    assert subprocess.run([lab_python, "-c", probe], capture_output=True, text=True).stdout.split() == ["True", "True"]
    # this test process runs in the root (platform) env
    import importlib.util

    assert importlib.util.find_spec("dbt") is None


def test_run_then_rerun_loads_nothing_and_skips_dbt(workspace: Path) -> None:
    first = _cli(workspace, "run", LAB)
    assert first.returncode == 0, first.stdout + first.stderr
    # the lab process (watching its stdin for the parent's end) shuts down cleanly, without an abort
    for log in (workspace / ".buildcpg" / "logs" / LAB).glob("*.log"):
        assert "Fatal Python error" not in log.read_text(encoding="utf-8", errors="replace"), log
    report = _last_run(workspace)
    steps = _steps(report)
    assert steps["load"]["rows"] and steps["transform"]["status"] == "ok"
    db = workspace / "labs" / LAB / "data" / f"{LAB}.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        gold = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'gold'"
            ).fetchall()
        }
        assert {"sales_by_region_category_week", "sku_performance", "store_ranking", "promotion_lift"} <= gold
        sales_rows = con.execute("select count(*) from raw.sales").fetchone()

    second = _cli(workspace, "run", LAB)
    assert second.returncode == 0, second.stdout + second.stderr
    steps = _steps(_last_run(workspace))
    assert steps["load"]["rows"] == 0
    assert "0 new, 0 changed" in str(steps["check"]["detail"])
    assert steps["transform"]["status"] == "skipped" and steps["test"]["status"] == "skipped"
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from raw.sales").fetchone() == sales_rows


def test_labs_lists_paths_and_last_run(workspace: Path) -> None:
    result = _cli(workspace, "labs", "--json")
    assert result.returncode == 0, result.stderr
    entry = next(e for e in json.loads(result.stdout) if e["name"] == LAB)
    assert entry["database"] == str((workspace / "labs" / LAB / "data" / f"{LAB}.duckdb").resolve())
    assert entry["dbt_dir"] == f"labs/{LAB}/dbt"


def test_second_concurrent_run_is_refused_and_database_intact(workspace: Path) -> None:
    lab_dir = workspace / "labs" / LAB
    holder = subprocess.Popen(
        [str(lab_dir / ".venv" / "bin" / "buildcpg-lab"), "--lab-dir", str(lab_dir), "run", "--full-refresh"],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    holder_file = lab_dir / "data" / ".buildcpg.holder"
    deadline = time.monotonic() + 60
    while not holder_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert holder_file.exists(), "first run never took the lock"
    second = _cli(workspace, "run", LAB, "--no-sync")
    lab_runner = subprocess.run(
        [str(lab_dir / ".venv" / "bin" / "buildcpg-lab"), "--lab-dir", str(lab_dir), "run"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    out, _ = holder.communicate(timeout=600)
    # busy is not failed: its own exit code (3) and its own word in the summary
    assert second.returncode == 3, second.stdout + second.stderr
    assert "already running" in second.stdout and f"pid {holder.pid}" in second.stdout
    summary = second.stdout[second.stdout.index("Summary") :]
    assert f"│ {LAB} │ busy" in summary and "failed" not in summary
    assert "0 of 1 lab(s) passed, 1 busy (already running)" in second.stdout
    assert lab_runner.returncode == 3 and "BUSY" in lab_runner.stdout, lab_runner.stdout + lab_runner.stderr
    assert holder.returncode == 0, out
    db = lab_dir / "data" / f"{LAB}.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        loaded = con.execute("select sum(rows) from _buildcpg.ledger where source = 'sales'").fetchone()
        assert con.execute("select count(*) from raw.sales").fetchone() == loaded
        assert con.execute("select count(*) from gold.store_ranking").fetchone()[0] > 0  # type: ignore[index]


def test_database_outside_the_lab_stops_before_writing(workspace: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.duckdb"
    result = _cli(workspace, "run", LAB, "--no-sync", BUILDCPG_LAB1_SALES_PERFORMANCE_DB=str(outside))
    assert result.returncode == 1
    assert "lies outside the lab folder" in result.stdout
    assert not outside.exists()


def test_dbt_from_any_directory_hits_the_same_database(built: Path, tmp_path: Path) -> None:
    workspace = built
    lab_dir = workspace / "labs" / LAB
    runner = str(lab_dir / ".venv" / "bin" / "buildcpg-lab")
    db = lab_dir / "data" / f"{LAB}.duckdb"
    for cwd in (tmp_path, lab_dir / "dbt", lab_dir / "data" / "raw"):
        result = subprocess.run(
            [runner, "--lab-dir", str(lab_dir), "dbt", "--", "run", "--select", "stg_sales"],
            cwd=cwd,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert not list(tmp_path.glob("*.duckdb")) and not list((lab_dir / "dbt").glob("*.duckdb"))
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(
            "select count(*) from information_schema.tables where table_schema = 'bronze' and table_name = 'stg_sales'"
        ).fetchone() == (1,)


def test_plain_dbt_in_the_dbt_folder_uses_the_relative_default(workspace: Path) -> None:
    lab_dir = workspace / "labs" / LAB
    result = subprocess.run(
        [str(lab_dir / ".venv" / "bin" / "dbt"), "debug", "--profiles-dir", "."],
        cwd=lab_dir / "dbt",
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout
    assert f"../data/{LAB}.duckdb" in result.stdout


def test_doctor_passes_and_reports_versions(workspace: Path) -> None:
    result = _cli(workspace, "doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all checks passed" in result.stdout and "1.12" in result.stdout
    # each lab's own key packages, from its own venv
    assert "statsforecast 2." in result.stdout and "scikit-learn 1." in result.stdout
    # every lab's dbt sources are generated from its lab.yaml and in sync
    assert result.stdout.count("│ lab.yaml ") == len(Workspace(workspace).labs()), result.stdout
    assert "✓ lab graph (inputs): lab4_category_review reads lab1_sales_performance" in result.stdout


def test_unknown_lab_is_one_clear_line(workspace: Path) -> None:
    result = _cli(workspace, "run", "lab1_sales_performanc")
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "buildcpg: error: unknown lab 'lab1_sales_performanc'; did you mean lab1_sales_performance?"
    )


def test_check_exit_codes_say_whether_there_is_work(workspace: Path) -> None:
    first = _cli(workspace, "run", LAB, "--no-sync", "--steps", "check,load")
    assert first.returncode == 0, first.stdout + first.stderr
    idle = _cli(workspace, "check", LAB)
    assert idle.returncode == 0, idle.stdout + idle.stderr
    assert f"{LAB}: 0 new, 0 changed, 9 unchanged" in idle.stdout
    extra = workspace / "labs" / LAB / "data" / "raw" / "sales_2030_01.csv"
    extra.write_text(
        "transaction_id,sale_date,store_id,sku,units,unit_price,discount_pct,revenue,promo_id\n"
        "T900000001,2030-01-01,S001,SKU-1001,1,3.49,0,3.49,\n"
    )
    (extra.parent / "sales_2030_02.csv.part").write_text("transaction_id\n")
    try:
        busy = _cli(workspace, "check", LAB)
        assert busy.returncode == 1
        assert "  new      data/raw/sales_2030_01.csv  (sales)" in busy.stdout
        assert "sales_2030_02" not in busy.stdout
    finally:
        extra.unlink()
        (extra.parent / "sales_2030_02.csv.part").unlink()


def test_watch_runs_once_for_a_burst_and_stops_on_ctrl_c(workspace: Path) -> None:
    import signal

    raw = workspace / "labs" / LAB / "data" / "raw"
    watch = subprocess.Popen(
        [sys.executable, "-m", "buildcpg_shared.cli", "watch", LAB, "--debounce", "1", "--steps", "check,load"],
        cwd=workspace,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert watch.stdout is not None
        assert "watching" in watch.stdout.readline()
        for i in range(50):
            (raw / f"sales_2031_{i:02d}.csv").write_text(
                "transaction_id,sale_date,store_id,sku,units,unit_price,discount_pct,revenue,promo_id\n"
                f"T9100000{i:02d},2031-01-01,S001,SKU-1001,1,3.49,0,3.49,\n"
            )
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = watch.stdout.readline()
            lines.append(line)
            if ": run " in line:
                break
        time.sleep(2.5)  # a second run would start here if the burst were not debounced into one
        watch.send_signal(signal.SIGINT)
        out, _ = watch.communicate(timeout=60)
    finally:
        if watch.poll() is None:
            watch.kill()
        for path in raw.glob("sales_2031_*.csv"):
            path.unlink()
    text = "".join(lines) + out
    assert watch.returncode == 0, text
    assert text.count("raw folder changed, running") == 1, text
    assert f"{LAB}: run ok" in text or f"{LAB}: run warn" in text, text
    assert out.rstrip().endswith("stopped"), out
    db = workspace / "labs" / LAB / "data" / f"{LAB}.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from raw.sales where transaction_id like 'T9100000%'").fetchone() == (50,)


def test_quality_inspect_report_help(workspace: Path) -> None:
    for command in (["inspect"], ["quality"], ["report"]):
        result = _cli(workspace, *command, "--help")
        assert result.returncode == 0 and "Usage" in result.stdout, command


def test_quality_shows_every_part_with_its_weight(built: Path) -> None:
    workspace = built
    result = _cli(workspace, "quality", LAB, "--history", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    lab = data["latest"]["lab"]
    parts = {p["name"]: p["weight"] for p in lab["parts"]}
    assert parts == {"tests": 30, "validity": 20, "completeness": 15, "uniqueness": 15, "freshness": 10, "volume": 10}
    assert "gold.store_ranking" in data["latest"] and data["history"][-1]["score"] == lab["score"]
    text = _cli(workspace, "quality", LAB)
    assert text.returncode == 0 and "passes the threshold 80" in text.stdout and "freshness" in text.stdout


def test_inspect_lists_tables_and_profiles_one(built: Path) -> None:
    workspace = built
    listing = _cli(workspace, "inspect", LAB, "--format", "json", "--schema", "gold")
    assert listing.returncode == 0, listing.stderr
    tables = {t["name"]: t for t in json.loads(listing.stdout)["tables"]}
    db = workspace / "labs" / LAB / "data" / f"{LAB}.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("select count(*), count(distinct region) from gold.store_ranking").fetchone()
    assert tables["store_ranking"]["rows"] == rows[0]
    one = _cli(workspace, "inspect", LAB, "gold.store_ranking", "--format", "json")
    profile = json.loads(one.stdout)["profile"]
    region = next(c for c in profile["columns"] if c["name"] == "region")
    assert profile["rows"] == rows[0] and region["distinct"] == rows[1] and region["top_values"]
    markdown = _cli(workspace, "inspect", LAB, "gold.store_ranking", "--format", "markdown")
    assert "| column | type | nulls |" in markdown.stdout and "## Sample (5 rows)" in markdown.stdout
    missing = _cli(workspace, "inspect", LAB, "gold.nope")
    assert missing.returncode == 2 and missing.stderr.strip().startswith("buildcpg: error: no table gold.nope")


def _hold_write_lock(db: Path) -> subprocess.Popen[str]:
    """Another process holding the lab database open for writing, as a running lab run does."""
    probe = "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); sys.stdin.readline()"
    holder = subprocess.Popen(
        [sys.executable, "-c", probe, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
    return holder


def test_readers_say_the_lab_is_being_written_and_use_the_serving_copy(built: Path) -> None:
    workspace = built
    db = workspace / "labs" / LAB / "data" / f"{LAB}.duckdb"
    serving = workspace / "labs" / LAB / "data" / "serving" / f"{LAB}.duckdb"
    assert serving.exists()
    holder = _hold_write_lock(db)
    try:
        result = _cli(workspace, "inspect", LAB, "--format", "json")
        assert result.returncode == 0, result.stderr
        assert f"lab {LAB} is being written by a run (pid {holder.pid})" in result.stderr
        assert "showing the serving copy" in result.stderr
        data = json.loads(result.stdout)
        assert data["source"] == "serving" and {t["schema"] for t in data["tables"]} == {"gold", "_buildcpg"}
        assert _cli(workspace, "quality", LAB).returncode == 0
        hidden = serving.with_name("hidden.duckdb")
        serving.rename(hidden)
        try:
            refused = _cli(workspace, "inspect", LAB)
        finally:
            hidden.rename(serving)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert refused.stderr.strip() == (
            f"buildcpg: error: lab {LAB} is being written by a run (pid {holder.pid}); try again when it finishes"
        )
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)


def test_report_renders_in_headless_chromium(built: Path, tmp_path: Path) -> None:
    workspace = built
    out = tmp_path / "report.html"
    result = _cli(workspace, "report", "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    html = out.read_text()
    for namespace in ("http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"):  # SVG namespaces, not fetched
        html = html.replace(namespace, "")
    assert "http://" not in html and "https://" not in html and "<script src" not in html  # offline
    chromium = chromium_or_skip()  # required under CI=true; elsewhere says clearly that it did not run
    dom = chromium_dump_dom(chromium, out, tmp_path / "chromium").stdout
    labs = [p.name for p in (workspace / "labs").iterdir() if (p / "lab.yaml").exists()]
    for lab in labs:
        assert f'data-lab="{lab}"' in dom
        assert f'data-overview="{lab}"' in dom
    scored = [lab for lab in labs if (workspace / "labs" / lab / "data" / "last_run.json").exists()]
    assert dom.count('<figure class="score-chart"><svg') == len(scored) >= 1  # Vega-Lite rendered to SVG
    assert "Quarantined rows by reason" in dom and "Failed tests" in dom and "Freshness" in dom
