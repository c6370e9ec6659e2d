"""Helpers for labs' own test suites: run a lab on a temporary copy, never on the real folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from buildcpg_shared.registry import Lab
from buildcpg_shared.registry.paths import db_env_var

_IGNORED = (
    ".venv",
    "target",
    "logs",
    "dbt_packages",
    "*.duckdb",
    "*.duckdb.wal",
    "last_run.json",
    ".buildcpg*",
    "__pycache__",
    "serving",
)
_IGNORE = shutil.ignore_patterns(*_IGNORED)


def copy_lab(lab_dir: Path, dest_parent: Path) -> Path:
    """Copy a lab's contract, dbt project and raw data (no venv, database or artifacts)."""
    dest = dest_parent / lab_dir.name
    shutil.copytree(lab_dir, dest, ignore=_IGNORE)
    return dest


def run_lab_copy(lab_dir: Path, dest_parent: Path, **options: object) -> tuple[Lab, object]:
    """Copy a lab and run its whole pipeline in this process; returns (lab, report)."""
    from buildcpg_shared.pipeline.runner import LabRunner

    copy = copy_lab(lab_dir, dest_parent)
    os.environ.pop(db_env_var(lab_dir.name), None)
    lab = Lab.from_dir(copy)
    return lab, LabRunner(lab, **options).run()  # type: ignore[arg-type]


WORKSPACE_FILES = ("pyproject.toml", "uv.lock")
WORKSPACE_FOLDERS = ("packages", "labs", "tools")
_WS_IGNORE = shutil.ignore_patterns(*_IGNORED, ".tox", "site")


def copy_workspace(source_root: Path, dest: Path) -> Path:
    """Copy a workspace (pyproject, uv.lock, packages, labs, tools) without venvs, databases or state."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKSPACE_FILES:
        shutil.copy2(source_root / name, dest / name)
    for folder in WORKSPACE_FOLDERS:
        if (source_root / folder).is_dir():
            shutil.copytree(source_root / folder, dest / folder, ignore=_WS_IGNORE)
    return dest


def clone_lab(lab_dir: Path, new_name: str, *, share_venv: bool = True) -> Path:
    """A sibling copy of a lab under another name (contract, profile and project renamed).

    With ``share_venv`` its ``.venv`` is a symlink to the original's, so tests need no second sync;
    run it with ``--no-sync`` (both labs keep the same uv package name).
    """
    dest = lab_dir.parent / new_name
    shutil.copytree(lab_dir, dest, ignore=_IGNORE)
    old = lab_dir.name
    for path in [dest / "lab.yaml", *dest.glob("dbt/*.yml")]:
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(old, new_name).replace(old.upper(), new_name.upper()), encoding="utf-8")
    if share_venv and (lab_dir / ".venv").exists():
        (dest / ".venv").symlink_to((lab_dir / ".venv").resolve(), target_is_directory=True)
    return dest


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without ``BUILDCPG_*`` overrides or an active venv, wide output, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUILDCPG_") and k != "VIRTUAL_ENV"}
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def run_cli(root: Path, *args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m buildcpg_shared.cli ARGS`` in ``cwd`` (default: ``root``) with ``clean_env(**env)``."""
    return subprocess.run(
        [sys.executable, "-m", "buildcpg_shared.cli", *args],
        cwd=cwd or root,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
