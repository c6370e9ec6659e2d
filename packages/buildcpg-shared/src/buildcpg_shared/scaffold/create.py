"""``new-lab`` and ``remove-lab``: all or nothing.

A lab is rendered into a staging folder under ``.buildcpg/`` (same file system), moved into
``labs/`` in one rename, then ``uv lock`` registers it in the one lock and its venv is synced.
If any step fails, the lab folder is removed and ``pyproject.toml`` / ``uv.lock`` are restored
byte for byte: no half-made lab is left behind. The lab is listed in the root pyproject's workspace
members (scaffold/members.py: one entry per lab, no ``labs/*`` glob); the tox plugin (toxfile.py)
picks it up without further edits.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from buildcpg_shared.config.lab_config import lab_name_problem
from buildcpg_shared.errors import ScaffoldError
from buildcpg_shared.orchestrate.uv import run_uv, sync_lab, uv_problem
from buildcpg_shared.registry import Lab, LabPaths, Workspace, db_env_var
from buildcpg_shared.scaffold.adopt import Requirements, copy_project, python_dependencies, read_profile_name
from buildcpg_shared.scaffold.members import add_member, remove_member
from buildcpg_shared.scaffold.render import file_digest, render_tree

_SNAPSHOT_FILES = ("pyproject.toml", "uv.lock")
# what an adopted dbt project replaces in the template (its profiles.yml is still generated)
_ADOPT_SKIPS = (
    "dbt/models",
    "dbt/macros",
    "dbt/tests",
    "dbt/dbt_project.yml.jinja",
    "dbt/packages.yml",
    "data/raw",
    "tests/test_gold.py.jinja",
)


def validate_new_lab_name(workspace: Workspace, name: str) -> None:
    """Raise ScaffoldError unless ``name`` is a fresh, well-formed lab name."""
    if not name or "/" in name or "\\" in name or ".." in name or name.startswith("."):
        raise ScaffoldError(f"{name!r} is not a lab name: no path separators, '..' or leading dot")
    problem = lab_name_problem(name)
    if problem:
        raise ScaffoldError(problem)
    existing = workspace.labs_dir / name
    if existing.exists():
        raise ScaffoldError(f"{existing} already exists: choose another name or `buildcpg remove-lab {name}`")
    number = name.split("_", 1)[0]
    taken = [n for n in workspace.lab_names() if n.split("_", 1)[0] == number]
    if taken:
        raise ScaffoldError(f"{number} is already used by {taken[0]}: choose another lab number")


def _title(name: str) -> str:
    words = name.split("_", 1)[1].replace("_", " ")
    return words[:1].upper() + words[1:]


def _context(
    name: str,
    *,
    adopted_from: Path | None,
    profile: str | None,
    dependencies: list[str] | None = None,
    gold: list[str] | None = None,
) -> dict[str, object]:
    return {
        "lab": name,
        "package": name.replace("_", "-"),
        "title": _title(name),
        "db_env_var": db_env_var(name),
        "profile": profile or name,
        "adopted": adopted_from is not None,
        "adopted_from": str(adopted_from) if adopted_from else "",
        "dependencies": list(dependencies or []),
        "gold": list(gold or []),
    }


def write_record(lab_root: Path, context: dict[str, object], skip: tuple[str, ...], written: list[Path]) -> None:
    """Record the render (context, skipped parts, digest of every file written) for ``upgrade-lab``."""
    record = {
        "context": context,
        "skip": list(skip),
        "files": {p.relative_to(lab_root).as_posix(): file_digest(p) for p in sorted(written)},
    }
    LabPaths.for_dir(lab_root).template_record.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


class Snapshot:
    """Bytes of files an operation may change (default: pyproject.toml, uv.lock), to put back on failure."""

    def __init__(self, workspace: Workspace, extra: tuple[Path, ...] = ()) -> None:
        paths = [workspace.root / n for n in _SNAPSHOT_FILES] + list(extra)
        self.files = {path: path.read_bytes() if path.exists() else None for path in paths}

    def restore(self) -> None:
        for path, data in self.files.items():
            if data is None:
                path.unlink(missing_ok=True)
            elif not path.exists() or path.read_bytes() != data:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)


def create_lab(
    workspace: Workspace,
    name: str,
    *,
    from_dbt: Path | None = None,
    gold: list[str] | None = None,
    sync: bool = True,
    say: Callable[[str], None] = lambda _: None,
) -> Lab:
    """Create ``labs/<name>`` from the template (or around an existing dbt project), lock and sync it.

    An adopted project's Python dependencies join the lab's pyproject (and so the lock); ``gold`` is a
    dbt selection of its models that the lab publishes as ``gold.<model>`` (lab.yaml ``gold: select:``).
    """
    validate_new_lab_name(workspace, name)
    project = from_dbt.expanduser().resolve() if from_dbt else None
    if gold and not project:
        raise ScaffoldError("--gold is for an adopted dbt project (--from-dbt); a template lab's marts are its gold")
    profile = read_profile_name(project) if project else None
    requirements = python_dependencies(project) if project else Requirements()
    if project and re.search(r"(^|/)labs/", project.as_posix()) and workspace.root in project.parents:
        raise ScaffoldError(f"{project} is inside this workspace's labs/: copy a project from outside")
    snapshot = Snapshot(workspace)
    target = workspace.labs_dir / name
    workspace.state_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"new-lab-{name}-", dir=workspace.state_dir))
    try:
        if project:
            say(f"copying the dbt project {project} (unchanged) into labs/{name}/dbt")
            left_out = copy_project(project, staging / name / "dbt")
            if left_out:
                say(f"left out (not the dbt project, build output, git-ignored or regenerated): {', '.join(left_out)}")
            for line in requirements.lines():
                say(line)
            (staging / name / "data" / "raw").mkdir(parents=True)
            (staging / name / "data" / "raw" / ".gitkeep").write_text("")
        say(f"rendering the lab template into labs/{name}")
        carried = requirements.carried
        context = _context(name, adopted_from=project, profile=profile, dependencies=carried, gold=gold)
        skip = _ADOPT_SKIPS if project else ()
        written = render_tree(staging / name, context, skip=skip)
        write_record(staging / name, context, skip, written)
        (staging / name).rename(target)
        if add_member(workspace.root, f"labs/{name}"):
            say(f"labs/{name} added to the workspace members of pyproject.toml")
        say("uv lock (registers the lab in the one lock)")
        locked = run_uv(workspace, ["lock"])
        if not locked.ok:
            raise ScaffoldError(f"uv lock failed for {name}, nothing was created: {uv_problem(locked)}")
        lab = Lab.from_dir(target)
        lab.config  # noqa: B018 - the rendered lab.yaml must validate
        if sync:
            say(f"uv sync --locked --package {lab.package} → labs/{name}/.venv")
            synced = sync_lab(workspace, lab)
            if not synced.ok:
                raise ScaffoldError(f"uv sync failed for {name}: {uv_problem(synced)}")
        return lab
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        snapshot.restore()
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def remove_lab(workspace: Workspace, name: str, *, say: Callable[[str], None] = lambda _: None) -> None:
    """Delete ``labs/<name>`` (venv, database and raw data included) and drop it from uv.lock."""
    lab = workspace.lab(name)
    snapshot = Snapshot(workspace)
    parked = workspace.state_dir / f"removed-{name}"
    shutil.rmtree(parked, ignore_errors=True)
    workspace.state_dir.mkdir(parents=True, exist_ok=True)
    lab.paths.root.rename(parked)  # out of the workspace first: uv lock must not see it
    try:
        remove_member(workspace.root, f"labs/{name}")
        say("uv lock (drops the lab from the one lock)")
        locked = run_uv(workspace, ["lock"])
        if not locked.ok:
            raise ScaffoldError(f"uv lock failed after removing {name}, lab kept: {uv_problem(locked)}")
    except BaseException:
        parked.rename(lab.paths.root)
        snapshot.restore()
        raise
    shutil.rmtree(parked, ignore_errors=True)
