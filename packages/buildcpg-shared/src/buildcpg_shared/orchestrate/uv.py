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


_CONFLICT_PREFIXES = ("cause:", "╰─▶", "×", "│")


def _conflict_lines(lines: list[str]) -> list[str]:
    """The resolver's explanation (``Because … we can conclude …``, over several lines) without its hints."""
    start = next((i for i, line in enumerate(lines) if "Because " in line), None)
    if start is None:
        return []
    block = []
    for line in lines[start:]:
        if line.lower().startswith(("hint:", "help:")):
            break
        for prefix in _CONFLICT_PREFIXES:
            line = line.removeprefix(prefix).strip()
        if line:
            block.append(line)
    return block


def uv_problem(result: UvResult) -> str:
    """What a failed uv call said that matters, on one line: its resolver conflict (the ``Because … we
    can conclude …`` block, hints left out), else its last ``error:`` line, else its last line."""
    lines = [line.strip() for line in result.output.splitlines() if line.strip()]
    conflict = _conflict_lines(lines)
    if conflict:
        return " ".join(conflict)
    errors = [line for line in lines if line.startswith("error:")]
    return errors[-1] if errors else result.last_line()


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


def venv_problems(workspace: Workspace, labs: list[Lab], say: Callable[[str], object], *, sync: bool) -> dict[str, str]:
    """Lab name → one line for each lab that has no usable venv; the others are ready to run.

    With ``sync`` each venv that is missing or was synced from another lock is synced first. A lab
    uv cannot sync (no pyproject.toml, not a member, a failed sync) is one line and never stops the others.
    Without ``sync`` a lab with a venv is taken as it is.
    """
    problems: dict[str, str] = {}
    for lab in labs:
        problem = ""
        if sync and not venv_is_current(workspace, lab):
            problem = workspace.env_problem(lab)
            if not problem:
                say(f"syncing {lab.name}'s venv from uv.lock …")
                result = sync_lab(workspace, lab)
                problem = "" if result.ok else f"{lab.folder}: uv sync failed: {uv_problem(result)}"
        elif not sync and not lab.paths.venv_python.exists():
            missing = f"{lab.folder}: no venv python (.venv): run `buildcpg sync {lab.name}`"
            problem = f"could not start: {workspace.env_problem(lab) or missing}"
        if problem:
            problems[lab.name] = problem
    return problems


def sync_stale(workspace: Workspace, labs: list[Lab], say: Callable[[str], object]) -> dict[str, str]:
    """Sync each lab venv that is missing or was synced from another lock; lab name → problem of those that
    cannot run (see ``venv_problems``)."""
    return venv_problems(workspace, labs, say, sync=True)


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
