"""`--full-refresh` killed at any statement of its reset: the next run recovers to a full, correct state.

A built copy of lab 1 is reset by the real runner code in a child process that dies (``os._exit``,
no cleanup, like a kill) right after statement k of the reset, for every k. The next ordinary run
(with the dbt project touched, so dbt really rebuilds) must end with the same raw, quarantine and
gold row counts as a clean build, and a ledger that agrees with raw file by file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
from buildcpg_shared.testing import cli_env, copy_lab

LAB = "lab1_sales_performance"

RESET_AND_DIE = r"""
import os, sys
from pathlib import Path
from buildcpg_shared.pipeline.database import connect_for_run, reset_for_full_refresh
from buildcpg_shared.registry import Lab

lab, die_after = Lab.from_dir(Path(sys.argv[1])), int(sys.argv[2])


class Dying:
    # counts every statement sent to DuckDB; the process dies right after statement `die_after`
    def __init__(self, con):
        self.con, self.statements = con, 0

    def __getattr__(self, name):
        attr = getattr(self.con, name)
        if name not in ("execute", "sql", "begin", "commit", "rollback"):
            return attr

        def call(*args, **kwargs):
            out = attr(*args, **kwargs)
            self.statements += 1
            if self.statements == die_after:
                os._exit(9)
            return out

        return call


con = Dying(connect_for_run(lab.name, lab.paths.database()))
reset_for_full_refresh(con)
print(con.statements)
"""


def _state(database: Path) -> dict[str, object]:
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw', 'quarantine', 'gold') and table_type = 'BASE TABLE' order by 1, 2"
        ).fetchall()
        counts = {f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in tables}
        ledger = con.execute("select file, source, rows from _buildcpg.ledger order by file").fetchall()
        for file, source, rows in ledger:  # the ledger agrees with raw, file by file
            held = con.execute(f'select count(*) from raw."{source}" where _source_file = ?', [file]).fetchone()
            assert held == (rows,), f"ledger says {file} has {rows} rows in raw.{source}, raw holds {held[0]}"
    return {"counts": counts, "ledger": ledger}


RUN_EACH = r"""
import json, sys
from pathlib import Path
from buildcpg_shared.testing import run_lab_dir

# one process, dbt imported once: run each lab copy in turn (Transform really rebuilds gold)
out = []
for lab_dir in sys.argv[1:]:
    _, report = run_lab_dir(Path(lab_dir), steps=["check", "load", "transform"], echo=False)
    out.append([lab_dir, report.status, report.error])
print("@@" + json.dumps(out))
"""


def _run_each(python: Path, lab_dirs: list[Path]) -> None:
    done = subprocess.run(
        [str(python), "-c", RUN_EACH, *map(str, lab_dirs)], env=cli_env(), capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    results = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("@@"))[2:])
    failed = [r for r in results if r[1] not in ("ok", "warn")]
    assert not failed, failed


def _reset_and_die(lab_dir: Path, die_after: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RESET_AND_DIE, str(lab_dir), str(die_after)],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_kill_at_every_statement_of_the_reset_then_the_next_run_recovers(lab1_workspace: Path, tmp_path: Path) -> None:
    python = lab1_workspace / "labs" / LAB / ".venv" / "bin" / "python"
    clean_dir = copy_lab(lab1_workspace / "labs" / LAB, tmp_path / "clean")
    _run_each(python, [clean_dir])
    clean = _state(clean_dir / "data" / f"{LAB}.duckdb")
    assert clean["counts"]["raw.sales"] and any(k.startswith("gold.") and v for k, v in clean["counts"].items())

    # how many statements the reset sends (0 = never die), then die after each one in turn
    counted = _reset_and_die(shutil.copytree(clean_dir, tmp_path / "count" / LAB), 0)
    assert counted.returncode == 0, counted.stderr
    statements = int(counted.stdout.strip().splitlines()[-1])
    assert statements >= 3
    killed = []
    for k in range(1, statements + 1):
        lab_dir = shutil.copytree(clean_dir, tmp_path / f"kill{k}" / LAB)
        died = _reset_and_die(lab_dir, k)
        assert died.returncode == 9, f"statement {k}: {died.stdout}{died.stderr}"
        model = next((lab_dir / "dbt" / "models" / "marts").glob("*.sql"))
        model.write_text(model.read_text() + "\n-- touched: dbt must rebuild from raw\n")
        killed.append(lab_dir)
    _run_each(python, killed)  # the next ordinary run of each
    for k, lab_dir in enumerate(killed, start=1):
        assert _state(lab_dir / "data" / f"{LAB}.duckdb") == clean, f"killed after statement {k} of {statements}"
