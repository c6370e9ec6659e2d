"""Per-lab schedules (cron in lab.yaml): which labs are due, and the crontab / systemd lines that run them."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from croniter import croniter

from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.ingest.inputs import upstream_paths
from buildcpg_shared.registry import Lab, Workspace

if TYPE_CHECKING:
    from buildcpg_shared.history.store import History

BEGIN = "# BEGIN buildcpg {root}"
END = "# END buildcpg {root}"


def upstream_published_since(lab: Lab, last_started: str | None) -> list[str]:
    """The labs ``lab`` reads (lab.yaml ``inputs``) that published after its last run started."""
    if last_started is None:
        return []
    since = datetime.fromisoformat(last_started).timestamp()
    newer = []
    for upstream in lab.config.upstream_labs:
        serving = upstream_paths(lab.paths, upstream).serving_file
        try:
            if serving.stat().st_mtime > since:
                newer.append(upstream)
        except OSError:  # not published (yet): nothing new to read
            continue
    return newer


def schedule_problem(lab: Lab) -> str:
    """Why a lab's schedule cannot be read (its lab.yaml is broken), in one line; "" when it can."""
    try:
        lab.config  # noqa: B018 - reads and validates lab.yaml
    except BuildCPGError as err:
        return str(err)
    return ""


def is_due(lab: Lab, history: History, now: datetime | None = None) -> bool:
    """True when a scheduled fire time has passed since the lab's last run (or it never ran), or,
    for a lab that reads other labs (scheduled or not), when one of them published after its last run.
    A lab whose lab.yaml is broken is never due (``buildcpg schedule`` and ``status`` say why)."""
    if schedule_problem(lab):
        return False
    last = history.last_started(lab.name)
    if upstream_published_since(lab, last):
        return True
    schedule = lab.config.schedule
    if not schedule:
        return False
    if last is None:
        return True
    now = now or datetime.now(UTC)
    next_fire = croniter(schedule, datetime.fromisoformat(last)).get_next(datetime)
    return next_fire <= now


def due_labs(workspace: Workspace, history: History, now: datetime | None = None) -> list[Lab]:
    return [lab for lab in workspace.labs() if is_due(lab, history, now)]


def crontab_block(workspace: Workspace, buildcpg: str) -> str:
    """One crontab line per scheduled lab, between markers so --install can replace them."""
    root = str(workspace.root)
    log = shlex.quote(str(workspace.state_dir / "logs" / "schedule.log"))
    lines = [BEGIN.format(root=root)]
    for lab in workspace.labs():
        if schedule_problem(lab):
            continue
        if lab.config.schedule:
            command = f"cd {shlex.quote(root)} && {shlex.quote(buildcpg)} run {lab.name} >> {log} 2>&1"
            lines.append(f"{lab.config.schedule} {command}")
    lines.append(END.format(root=root))
    return "\n".join(lines) + "\n"


def merge_crontab(existing: str, block: str, root: Path) -> str:
    """``existing`` crontab text with our block replaced (or appended); other lines untouched."""
    begin, end = BEGIN.format(root=root), END.format(root=root)
    out, skipping = [], False
    for line in existing.splitlines():
        if line == begin:
            skipping = True
        elif line == end:
            skipping = False
        elif not skipping:
            out.append(line)
    text = "\n".join(out).rstrip("\n")
    return (text + "\n" if text else "") + block


def systemd_units(workspace: Workspace, buildcpg: str, every_minutes: int = 5) -> dict[str, str]:
    """A service running ``buildcpg run --due`` and a timer firing it every few minutes."""
    service = (
        "[Unit]\nDescription=BuildCPG labs that are due\n\n[Service]\nType=oneshot\n"
        f"WorkingDirectory={workspace.root}\nExecStart={buildcpg} run --due\n"
    )
    timer = (
        "[Unit]\nDescription=Run BuildCPG labs that are due\n\n[Timer]\n"
        f"OnCalendar=*:0/{every_minutes}\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n"
    )
    return {"buildcpg-due.service": service, "buildcpg-due.timer": timer}
