"""``buildcpg-lab``: the lab runner's command line, run inside a lab's own venv.

The platform CLI (``buildcpg run``) starts it in each lab's venv; a lab's Makefile calls it
directly. It works from any current directory: the lab is found from ``--lab-dir`` or by
walking up to the nearest ``lab.yaml``. ``run`` goes through the run service
(``orchestrate.service.run_lab``): every run is recorded in the workspace history and alerts.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.pipeline.one_shot_gc import declare_one_shot
from buildcpg_shared.pipeline.parent import interrupt_on_signals, stop_with_parent
from buildcpg_shared.registry import Lab, find_lab_dir
from buildcpg_shared.run_record import STEP_NAMES, RunOptions, Status

if TYPE_CHECKING:
    from buildcpg_shared.pipeline.runner import LabRunner


def _lab(args: argparse.Namespace) -> Lab:
    lab_dir = Path(args.lab_dir) if args.lab_dir else find_lab_dir()
    if not (lab_dir / "lab.yaml").is_file():
        raise BuildCPGError(f"{lab_dir}: not a lab folder (no lab.yaml)")
    return Lab.from_dir(lab_dir)


def _steps(value: str) -> tuple[str, ...]:
    try:
        return RunOptions.parse_steps(value)
    except BuildCPGError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def run_options(args: argparse.Namespace) -> RunOptions:
    """The run's options from ``buildcpg-lab run``'s arguments (``RunOptions.to_argv`` is the inverse)."""
    return RunOptions(
        steps=args.steps, full_refresh=args.full_refresh, rebuild=args.rebuild, wait=args.wait, threads=args.threads
    )


def _cmd_run(args: argparse.Namespace) -> int:
    from buildcpg_shared.orchestrate.service import delivery_dict, delivery_line, run_lab

    def before_run(runner: LabRunner) -> None:
        interrupt_on_signals()  # SIGTERM/SIGHUP end the run like Ctrl-C: it records 'interrupted'
        if args.stop_with_parent:
            stop_with_parent(runner)

    options = run_options(args)
    outcome = run_lab(  # the run service: lab lock, steps, history, incidents, alerts
        _lab(args),
        steps=options.steps,
        full_refresh=options.full_refresh,
        rebuild=options.rebuild,
        wait=options.wait,
        events=args.events,
        threads=options.threads,
        before_run=before_run,
        command=" ".join(["buildcpg-lab", *args.argv])[:500],
    )
    report = outcome.report
    if not args.events:  # with events the parent shows the alerts itself
        for delivery in outcome.deliveries:
            print(delivery_line(delivery_dict(delivery)))
    if outcome.note:
        print(f"[{report.lab}] note: {outcome.note}", file=sys.stderr)
    said = report.error.startswith(("lab ", report.lab, f"labs/{report.lab}/"))  # the error line named it
    print(
        f"[{report.lab}] {report.status.upper()} in {report.duration_s:.2f}s"
        + (f": {report.error}" if report.error and not said else "")
    )
    return 0 if report.ok else (3 if report.status == Status.BUSY else 1)


def _cmd_dbt(args: argparse.Namespace) -> int:
    import duckdb

    from buildcpg_shared.lab_lock import LabLock
    from buildcpg_shared.pipeline.dbt_invoke import DbtSession
    from buildcpg_shared.pipeline.guard import check_database_location, check_identity

    lab = _lab(args)
    database = lab.paths.database()
    check_database_location(lab.paths, database)
    dbt_args = [a for a in args.dbt_args if a != "--"]
    with LabLock(lab.paths.lock_file, lab.name, wait=args.wait):
        database.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(database)) as con:
            check_identity(con, lab.name, database)
        session = DbtSession(lab.paths, full_refresh="--full-refresh" in dbt_args, config=lab.config)
        return 0 if session.invoke_raw(dbt_args) else 1


def lab_shell_env(lab: Lab) -> dict[str, str]:
    """What a shell in a lab folder needs so ``uv run …`` and ``dbt …`` use this lab's venv and database.

    uv has no per-member environment setting: inside a workspace member, ``uv run`` uses the root
    ``.venv`` unless ``UV_PROJECT_ENVIRONMENT`` (absolute) names another (docs/environments.md).
    """
    from buildcpg_shared.pipeline.dbt_invoke import dbt_call_env

    venv = str(lab.paths.venv)
    return {"VIRTUAL_ENV": venv, "UV_PROJECT_ENVIRONMENT": venv, **dbt_call_env(lab.paths)}


def _cmd_env(args: argparse.Namespace) -> int:
    lab = _lab(args)
    for key, value in lab_shell_env(lab).items():
        print(f"export {key}={shlex.quote(value)}")
    print(f'export PATH={shlex.quote(str(lab.paths.venv / "bin"))}:"$PATH"')
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    from buildcpg_shared.inspect import DataInspector
    from buildcpg_shared.inspect.readonly import open_lab

    reader = open_lab(_lab(args))  # the serving copy while a run holds the lab (said on stderr)
    if reader.note:
        print(reader.note, file=sys.stderr)
    try:
        inspector = DataInspector(reader.con)
        if args.table:
            schema, _, table = args.table.rpartition(".")
            profile = inspector.profile(schema or "gold", table)
            print(json.dumps(profile.to_dict(), indent=2, default=str))
            return 0
        for schema, table in inspector.tables(args.schemas):
            print(f"{schema}.{table}\t{inspector.row_count(schema, table):,}")
    finally:
        reader.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="buildcpg-lab",
        description="Run one lab's pipeline (Check → Load → Transform → Test → Inspect) in this venv.",
    )
    parser.add_argument("--lab-dir", help="the lab folder (default: nearest folder with a lab.yaml)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run", help="run the lab's steps", description="Run the lab's steps as the only writer of its database."
    )
    run.add_argument(
        "--steps", type=_steps, default=STEP_NAMES, help="comma-separated subset of: " + ",".join(STEP_NAMES)
    )
    run.add_argument("--full-refresh", action="store_true", help="reload every raw file and rebuild every model")
    run.add_argument(
        "--rebuild",
        action="store_true",
        help="move the lab database (a damaged one) aside to data/damaged/ and rebuild it from data/raw",
    )
    run.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for a running run of the same lab (default: refuse at once)",
    )
    run.add_argument("--events", action="store_true", help="also print machine-readable @@buildcpg event lines")
    run.add_argument(
        "--threads",
        type=int,
        default=None,
        help="dbt threads (default: the machine's cores; `buildcpg run` passes cores divided by the labs at once)",
    )
    run.add_argument(
        "--stop-with-parent",
        action="store_true",
        help="stop when stdin reaches its end (the process that started this run is gone; used by buildcpg run)",
    )
    run.set_defaults(func=_cmd_run)

    dbt = sub.add_parser(
        "dbt",
        help="run any dbt command against this lab's database",
        description="Run dbt with this lab's profile and absolute paths, e.g. buildcpg-lab dbt -- ls --select marts",
    )
    dbt.add_argument("--wait", type=float, default=0.0, metavar="SECONDS", help="wait for a running run of the lab")
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER, help="arguments passed to dbt")
    dbt.set_defaults(func=_cmd_dbt)

    env = sub.add_parser(
        "env",
        help="print shell exports so uv run and dbt use this lab's venv",
        description='Print export lines (eval "$(buildcpg-lab env)"): after them, `uv run …` and `dbt …` in this '
        "shell use the lab's own venv, dbt project, profile and database instead of the workspace root's venv.",
    )
    env.set_defaults(func=_cmd_env)

    inspect = sub.add_parser(
        "inspect",
        help="list tables with row counts, or profile one table",
        description="Inspect the lab database read-only.",
    )
    inspect.add_argument("table", nargs="?", help="schema.table to profile (default schema: gold)")
    inspect.add_argument("--schemas", nargs="*", default=None, help="limit the listing to these schemas")
    inspect.set_defaults(func=_cmd_inspect)
    return parser


def main(argv: list[str] | None = None) -> int:
    declare_one_shot()  # this process ends with its command: dbt's objects need no collecting (one_shot_gc)
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return int(args.func(args))
    except BuildCPGError as err:
        print(f"buildcpg-lab: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
