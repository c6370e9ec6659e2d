"""Lab venvs through uv: every lab has its own venv at labs/<lab>/.venv, synced from the one lock."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.registry import Lab, Workspace

SYNC_MARKER = ".buildcpg-synced"


def uv_binary() -> str:
    """The uv executable: $UV, then PATH, then the one next to this Python (root venv)."""
    candidates = [os.environ.get("UV"), shutil.which("uv"), str(Path(sys.executable).parent / "uv")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise BuildCPGError("uv not found: run `make run` once (it installs uv) or `python3 -m pip install uv`")


@dataclass(frozen=True)
class UvResult:
    """Exit code and output of one uv call."""

    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def last_line(self) -> str:
        lines = [line for line in self.output.strip().splitlines() if line.strip()]
        return lines[-1] if lines else ""


def run_uv(workspace: Workspace, args: list[str], *, venv: Path | None = None) -> UvResult:
    """Run ``uv ARGS`` at the workspace root; ``venv`` sets UV_PROJECT_ENVIRONMENT (absolute)."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
    env.setdefault("UV_COMPILE_BYTECODE", "1")
    if venv is not None:
        env["UV_PROJECT_ENVIRONMENT"] = str(venv.resolve())
    proc = subprocess.run(
        [uv_binary(), *args], cwd=workspace.root, env=env, capture_output=True, text=True, check=False
    )
    return UvResult(proc.returncode, (proc.stdout + proc.stderr).strip())


def lock_digest(workspace: Workspace) -> str:
    """Hash of uv.lock: a lab venv synced from another lock is stale."""
    return hashlib.sha256((workspace.root / "uv.lock").read_bytes()).hexdigest()


def venv_is_current(workspace: Workspace, lab: Lab) -> bool:
    """Cheap test (no uv call): the venv exists and was synced from the current uv.lock."""
    marker = lab.paths.venv / SYNC_MARKER
    try:
        return lab.paths.venv_python.exists() and marker.read_text().strip() == lock_digest(workspace)
    except OSError:
        return False


def sync_lab(workspace: Workspace, lab: Lab) -> UvResult:
    """``uv sync --locked --package <lab>`` into the lab's own venv (exact: removes extras)."""
    result = run_uv(workspace, ["sync", "--locked", "--package", lab.package], venv=lab.paths.venv)
    if result.ok:
        (lab.paths.venv / SYNC_MARKER).write_text(lock_digest(workspace) + "\n")
    return result


def sync_stale(workspace: Workspace, labs: list[Lab], say: Callable[[str], object]) -> None:
    """Sync each lab venv that is missing or was synced from another lock; raise when a sync fails."""
    for lab in labs:
        if not venv_is_current(workspace, lab):
            say(f"syncing {lab.name}'s venv from uv.lock …")
            result = sync_lab(workspace, lab)
            if not result.ok:
                raise BuildCPGError(f"{lab.name}: uv sync failed: {result.last_line()}")


def check_lab_venv(workspace: Workspace, lab: Lab) -> UvResult:
    """``uv sync --check``: is the lab venv exactly what the lock says (nothing missing, nothing extra)?"""
    return run_uv(workspace, ["sync", "--locked", "--package", lab.package, "--check"], venv=lab.paths.venv)


def installed_versions(python: Path, names: list[str]) -> dict[str, str | None]:
    """Versions of some distributions inside another venv (None: not installed)."""
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for n in sys.argv[1:]:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: out[n] = None\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([str(python), "-c", code, *names], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return dict.fromkeys(names)
    import json

    return dict(json.loads(proc.stdout))
