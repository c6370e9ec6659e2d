"""``buildcpg check``: which raw files the next run would load, per lab, without loading anything.

Reads each lab's ledger read-only and stats its raw folder (files are hashed only when their size
or mtime changed). Exit code: 0 nothing to load, 1 some lab has files to load, 2 an error (a lab
being written right now, a bad lab.yaml, a raw file that cannot be read or whose header does not
match the contract).
"""

from __future__ import annotations

import sys

import duckdb
import typer

from buildcpg_shared.cli.params import all_option, every_lab_unless_named
from buildcpg_shared.errors import BuildCPGError, LabBusyError, first_line, is_damage
from buildcpg_shared.ingest.check import marker_path
from buildcpg_shared.ingest.ledger import read_ledger_file
from buildcpg_shared.ingest.monitor import CSVMonitor
from buildcpg_shared.ingest.s3_raw import raw_name
from buildcpg_shared.inspect.readonly import check_data_folder, damaged, running_run
from buildcpg_shared.registry import Workspace


def check_command(
    labs: list[str] | None = typer.Argument(None, help="labs to check (default: every lab)"),
    all_labs: bool = all_option("check"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="print nothing, only set the exit code"),
) -> None:
    """List the new, changed, removed and still-being-written raw files of labs; load nothing.

    Exits 0 when there is nothing to load, 1 when some lab has files to load, 2 on an error.
    """
    workspace = Workspace.find()
    selected = every_lab_unless_named(workspace, labs, all_labs)
    to_load = errors = 0
    for lab in selected:
        try:
            holder = running_run(lab)
            if holder is not None:  # never open the working database under a run: its Check decides
                raise LabBusyError(f"lab {lab.name} is being run right now ({holder}); check again when it finishes")
            check_data_folder(lab)
            ledger = read_ledger_file(lab.paths.database(), lab.name)
            plan = CSVMonitor(lab.paths.raw_dir, lab.config).check(ledger)
        except BuildCPGError as err:
            errors += 1
            print(f"{lab.name}: error: {err}", file=sys.stderr, flush=True)
            continue
        except duckdb.Error as err:  # a database that is no DuckDB file, or a folder in its place
            errors += 1
            database = lab.paths.database()
            line = str(damaged(lab, err)) if is_damage(err) else f"cannot read {database}: {first_line(err)}"
            print(f"{lab.name}: error: {line}", file=sys.stderr, flush=True)
            continue
        to_load += len(plan.pending)
        errors += len(plan.unreadable) + len(plan.invalid)
        for problem in plan.unreadable + plan.invalid:  # the same line the run's Check and Load give
            print(f"{lab.name}: error: {problem.line}", file=sys.stderr, flush=True)
        if quiet:
            continue
        refused = {u.rel for u in plan.invalid}  # new or changed, but Load would refuse them
        new = [f for f in plan.new if f.rel not in refused]
        changed = [f for f in plan.changed if f.rel not in refused]
        print(
            f"{lab.name}: {len(new)} new, {len(changed)} changed, "
            f"{len(plan.unchanged) + len(plan.touched)} unchanged, {len(plan.removed)} removed, "
            f"{len(plan.in_progress)} still being written"
            + (f", {len(plan.waiting)} waiting for a completion marker" if plan.waiting else "")
            + (f", {len(refused) + len(plan.unreadable)} refused" if refused or plan.unreadable else ""),
        )
        lines = [("new", f) for f in new] + [("changed", f) for f in changed]
        lines += [("writing", f) for f in plan.in_progress] + [("waiting", f) for f in plan.waiting]
        for kind, raw in sorted(lines, key=lambda item: item[1].rel):
            marker = marker_path(raw.path, lab.config.sources[raw.source]) if kind == "waiting" else None
            note = f"; no {marker.name} yet" if marker is not None else ""
            print(f"  {kind:<8} {raw_name(raw.rel)}  ({raw.source}{note})")
        for entry in plan.removed:
            print(f"  removed  {raw_name(entry.file)}  ({entry.source}; its rows stay loaded)")
        for name, source in lab.config.sources.items():
            if source.type == "http":
                print(f"  http     {name}: polled by the next run ({source.http.url if source.http else ''})")
    raise typer.Exit(2 if errors else (1 if to_load else 0))
