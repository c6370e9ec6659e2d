"""``upgrade-lab``: bring a lab made by ``new-lab`` up to date with the template, keeping local edits.

The lab's ``.buildcpg-template.json`` holds what was rendered (context, digest of every file). The
template is rendered again with the same context, and for every file:

* unchanged in the lab since the last render → replaced by the new render (``updated``);
* new in the template and absent from the lab → added (``added``);
* edited in the lab and changed in the template → left as it is (``kept``); the new version is
  written next to it as ``<file>.template-new`` to merge by hand;
* edited in the lab, template unchanged since the last render → left alone, nothing reported;
* deleted in the lab → stays deleted.

When pyproject.toml changes, ``uv lock`` runs and the lab's venv is synced; if that fails, every
file of the lab and the lock are restored.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from buildcpg_shared.errors import ScaffoldError
from buildcpg_shared.orchestrate.uv import run_uv, sync_lab
from buildcpg_shared.registry import LabPaths, Workspace
from buildcpg_shared.scaffold.create import Snapshot, _context, write_record
from buildcpg_shared.scaffold.render import file_digest, render_tree

NEW_SUFFIX = ".template-new"
# what a lab made before new-lab keeps as its own: its contract, models, data, tests and README
BASELINE_SKIPS = ("lab.yaml.jinja", "README.md.jinja", "dbt/models", "data/raw", "tests")


def record_baseline(lab_root: Path) -> None:
    """Make an existing lab a template instance: record today's render of the template as its last render.

    From then on ``upgrade-lab`` brings it later template changes: a file equal to today's render is
    updated, a file that differs counts as a local edit (kept, with ``.template-new`` beside it), a
    template file the lab lacks stays absent. The lab's own parts (``BASELINE_SKIPS``) are never touched.
    """
    context = _context(lab_root.name, adopted_from=None, profile=None)
    with tempfile.TemporaryDirectory(prefix=f"baseline-{lab_root.name}-") as tmp:
        rendered_root = Path(tmp) / lab_root.name
        rendered = render_tree(rendered_root, context, skip=BASELINE_SKIPS)
        write_record(rendered_root, context, BASELINE_SKIPS, rendered)
        shutil.copyfile(LabPaths.for_dir(rendered_root).template_record, LabPaths.for_dir(lab_root).template_record)


@dataclass
class UpgradeReport:
    """What upgrade-lab did, file by file (paths relative to the lab)."""

    updated: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    unchanged: int = 0
    relocked: bool = False


def upgrade_lab(
    workspace: Workspace, name: str, *, dry_run: bool = False, say: Callable[[str], None] = lambda _: None
) -> UpgradeReport:
    """Apply template changes to ``labs/<name>``; files edited in the lab are never overwritten."""
    lab = workspace.lab(name)
    record_path = lab.paths.template_record
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        context, skip, old = dict(record["context"]), tuple(record["skip"]), dict(record["files"])
    except FileNotFoundError as err:
        raise ScaffoldError(f"{lab.paths.root} was not made by `buildcpg new-lab` (no {record_path.name})") from err
    except (ValueError, KeyError, TypeError) as err:
        raise ScaffoldError(f"{record_path}: unreadable template record ({err})") from err
    report = UpgradeReport()
    with tempfile.TemporaryDirectory(prefix=f"upgrade-{name}-") as tmp:
        rendered_root = Path(tmp) / name
        rendered = render_tree(rendered_root, context, skip=skip)
        plan: list[tuple[str, Path]] = []  # (relative path, new file)
        for new in rendered:
            rel = new.relative_to(rendered_root).as_posix()
            current = lab.paths.root / rel
            if not current.exists():
                if rel not in old:
                    report.added.append(rel)
                    plan.append((rel, new))
                continue
            digest = file_digest(current)
            if digest == file_digest(new):
                report.unchanged += 1
            elif old.get(rel) == digest:
                report.updated.append(rel)
                plan.append((rel, new))
            elif old.get(rel) == file_digest(new):  # a local edit; the template did not change since
                report.unchanged += 1
            else:
                report.kept.append(rel)
                plan.append((rel + NEW_SUFFIX, new))
        if dry_run:
            return report
        touched = (*(lab.paths.root / rel for rel, _ in plan), record_path)
        snapshot = Snapshot(workspace, touched)
        try:
            for rel, new in plan:
                target = lab.paths.root / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(new, target)
            write_record(rendered_root, context, skip, rendered)
            shutil.copyfile(LabPaths.for_dir(rendered_root).template_record, record_path)
            if "pyproject.toml" in report.updated + report.added:
                say("pyproject.toml changed: uv lock and sync")
                locked = run_uv(workspace, ["lock"])
                if not locked.ok:
                    raise ScaffoldError(f"uv lock failed after upgrading {name}: {locked.last_line()}")
                synced = sync_lab(workspace, lab)
                if not synced.ok:
                    raise ScaffoldError(f"uv sync failed after upgrading {name}: {synced.last_line()}")
                report.relocked = True
        except BaseException:
            snapshot.restore()
            raise
    return report
