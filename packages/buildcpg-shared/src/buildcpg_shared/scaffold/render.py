"""Render the lab template (``scaffold/template``) into a folder.

Files ending in ``.jinja`` are rendered (suffix dropped) with ``[[ var ]]`` / ``[% block %]``
delimiters, so the dbt Jinja inside the template (``{{ ref(...) }}``) passes through untouched;
every other file is copied byte for byte. ``gitignore`` and ``envrc`` become ``.gitignore`` and ``.envrc``
(a dot file in package data is easy to lose).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

TEMPLATE_ENV = "BUILDCPG_LAB_TEMPLATE"
_RENAMES = {"gitignore": ".gitignore", "envrc": ".envrc"}


def template_dir() -> Path:
    """The lab template: ``$BUILDCPG_LAB_TEMPLATE`` if set (a team's own template), else the shipped one."""
    override = os.environ.get(TEMPLATE_ENV)
    return Path(override).expanduser().resolve() if override else Path(__file__).resolve().parent / "template"


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (what new-lab records and upgrade-lab compares)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def render_tree(dest: Path, context: Mapping[str, object], *, skip: Iterable[str] = ()) -> list[Path]:
    """Render every template file into ``dest`` (created); ``skip``: template-relative prefixes left out."""
    import jinja2  # platform-only dependency, imported when a lab is created

    source_dir = template_dir()
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(source_dir)),
        variable_start_string="[[",
        variable_end_string="]]",
        block_start_string="[%",
        block_end_string="%]",
        comment_start_string="[#",
        comment_end_string="#]",
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )
    skipped = tuple(skip)
    written = []
    for source in sorted(p for p in source_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        relative = source.relative_to(source_dir).as_posix()
        if any(relative == s or relative.startswith(s.rstrip("/") + "/") for s in skipped):
            continue
        target_rel = relative.removesuffix(".jinja")
        parts = target_rel.split("/")
        parts[-1] = _RENAMES.get(parts[-1], parts[-1])
        target = dest.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if relative.endswith(".jinja"):
            target.write_text(env.get_template(relative).render(**context), encoding="utf-8")
        else:
            shutil.copyfile(source, target)
        written.append(target)
    return written
