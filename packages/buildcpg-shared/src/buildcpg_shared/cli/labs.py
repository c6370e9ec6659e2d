"""``buildcpg labs``: the registry, with each lab's paths and last run."""

from __future__ import annotations

import json

from rich.markup import escape

from buildcpg_shared.cli.common import lab_title
from buildcpg_shared.cli.params import format_option, json_alias, output_format, print_rows
from buildcpg_shared.history import history_for
from buildcpg_shared.registry import Workspace
from buildcpg_shared.report.timefmt import utc_text


def labs_command(
    fmt: str = format_option(),
    as_json: bool = json_alias(),
) -> None:
    """List the labs found under labs/*/lab.yaml with their paths and last run (from the run history).

    A lab whose lab.yaml is invalid is listed as broken, with the one-line reason.
    """
    fmt = output_format(fmt, as_json)
    workspace = Workspace.find()
    history = history_for(workspace)
    rows = []
    for lab in workspace.labs():
        paths = lab.paths
        record = history.last_record(lab.name)  # the same record as `runs` and `status`
        last: dict[str, object] = record.to_dict() if record else {}
        if not last and paths.last_run_file.exists():  # run before the history existed
            try:
                last = json.loads(paths.last_run_file.read_text(encoding="utf-8"))
            except ValueError:
                last = {"status": "unreadable"}
        title, error = lab_title(lab, workspace)
        unfinished = history.health(lab.name).unfinished  # a later run with no recorded end: running, or died
        rows.append(
            {
                "name": lab.name,
                "title": title,
                "error": error,
                "root": str(paths.root.relative_to(workspace.root)),
                "dbt_dir": str(paths.dbt_dir.relative_to(workspace.root)),
                "raw_dir": str(paths.raw_dir.relative_to(workspace.root)),
                "database": str(paths.database()),
                "serving_file": str(paths.serving_file),
                "venv": str(paths.venv.relative_to(workspace.root)) if paths.venv.exists() else "(not synced)",
                "last_run": {k: last.get(k) for k in ("status", "finished_at", "duration_s")} if last else None,
                "unfinished_run": None
                if unfinished is None
                else {"state": unfinished.state, "started_at": unfinished.started_at, "text": unfinished.describe()},
            }
        )
    if fmt == "json":
        print(json.dumps(rows, indent=2))
        return
    cells = []
    for row in rows:
        last = row["last_run"]
        last_text = "never"
        if last:
            last_text = f"{last['status']} at {utc_text(last['finished_at'])} ({float(last['duration_s'] or 0):.1f}s)"
        if row["unfinished_run"]:  # newer than the last recorded run
            later = row["unfinished_run"]
            since = "waiting since" if later["state"] == "queued" else "started"  # queued: since its run began
            last_text = f"{later['state']}, {since} {utc_text(later['started_at'])}; before: {last_text}"
        db = str(row["database"]).removeprefix(str(workspace.root) + "/")
        title = f"[red]broken: {escape(str(row['error']))}[/]" if row["error"] else escape(str(row["title"]))
        cells.append([str(row["name"]), title, db, str(row["venv"]), last_text])
    print_rows(fmt, f"Labs in {workspace.root}", ["lab", "title", "database", "venv", "last run"], cells)
