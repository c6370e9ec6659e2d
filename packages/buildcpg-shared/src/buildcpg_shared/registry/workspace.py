"""Discover the workspace root and its labs (every ``labs/*/lab.yaml``)."""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from buildcpg_shared.config import LabConfig, load_lab_config
from buildcpg_shared.config.alerts import WorkspaceConfig, load_workspace_config
from buildcpg_shared.config.lab_config import LAB_NAME_MAX, lab_name_problem
from buildcpg_shared.config.shared import SharedSettings, shared_settings
from buildcpg_shared.errors import ConfigError, LabNotFoundError, WorkspaceNotFoundError
from buildcpg_shared.registry.paths import LabPaths

WORKSPACE_ENV = "BUILDCPG_WORKSPACE"


def _is_workspace_root(path: Path) -> bool:
    pyproject = path / "pyproject.toml"
    if not pyproject.is_file() or not (path / "labs").is_dir():
        return False
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return "workspace" in data.get("tool", {}).get("uv", {})


def find_workspace_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding the uv workspace.

    ``BUILDCPG_WORKSPACE`` overrides the search.
    """
    override = os.environ.get(WORKSPACE_ENV)
    if override:
        root = Path(override).expanduser().resolve()
        if not _is_workspace_root(root):
            raise WorkspaceNotFoundError(f"{WORKSPACE_ENV}={override} is not a BuildCPG workspace")
        return root
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if _is_workspace_root(candidate):
            return candidate
    raise WorkspaceNotFoundError(
        f"no BuildCPG workspace at or above {here} (looked for pyproject.toml with [tool.uv.workspace] and labs/)"
    )


def find_lab_dir(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) that holds a lab.yaml."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "lab.yaml").is_file():
            return candidate
    raise LabNotFoundError(f"no lab.yaml at or above {here}: run inside labs/<lab> or pass --lab-dir")


@dataclass(frozen=True)
class Lab:
    """One lab: its paths and its validated lab.yaml."""

    paths: LabPaths

    @classmethod
    def from_dir(cls, lab_dir: Path) -> Lab:
        return cls(LabPaths.for_dir(lab_dir))

    @property
    def name(self) -> str:
        return self.paths.name

    @cached_property
    def config(self) -> LabConfig:
        return load_lab_config(self.paths.lab_yaml)

    @property
    def folder(self) -> str:
        """``labs/<lab>``: how a line names the lab's folder."""
        return f"{self.paths.root.parent.name}/{self.name}"

    def _project(self) -> dict[str, object]:
        """The lab's pyproject ``[project]`` table; a one-line ConfigError when there is none to read."""
        pyproject = self.paths.root / "pyproject.toml"
        if not pyproject.is_file():
            raise ConfigError(
                f"{self.folder}: no pyproject.toml: not a uv workspace member; give it one "
                f"(`buildcpg new-lab` makes a complete lab) or move the folder out of labs/"
            )
        try:
            project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
            raise ConfigError(f"{self.folder}/pyproject.toml: cannot read: {err}") from err
        if not isinstance(project, dict) or not isinstance(project.get("name"), str):
            raise ConfigError(f"{self.folder}/pyproject.toml: no project name: uv cannot sync this lab")
        return project

    @property
    def package(self) -> str:
        """The lab's uv package name (its pyproject [project].name); ConfigError when it has none."""
        return str(self._project()["name"])

    def own_dependencies(self) -> list[str]:
        """Distribution names the lab declares besides the shared base (buildcpg-shared, dbt-*)."""
        deps = self._project().get("dependencies") or []
        names = [re.split(r"[\s<>=!~;\[(]", str(d).strip(), maxsplit=1)[0] for d in deps]  # type: ignore[union-attr]
        return [n for n in names if n and n != "buildcpg-shared" and not n.startswith("dbt-")]


@dataclass(frozen=True)
class Workspace:
    """The workspace root and the labs under ``labs/``."""

    root: Path

    @classmethod
    def find(cls, start: Path | None = None) -> Workspace:
        return cls(find_workspace_root(start))

    @property
    def labs_dir(self) -> Path:
        return self.root / "labs"

    @property
    def state_dir(self) -> Path:
        """Platform state at the root (run logs, history): git-ignored."""
        return self.root / ".buildcpg"

    @property
    def config(self) -> WorkspaceConfig:
        """``buildcpg.yaml`` (defaults without one); a broken one raises ``ConfigError`` with one line."""
        return load_workspace_config(self.root)

    @property
    def shared(self) -> SharedSettings:
        """The shared services in force (``buildcpg.yaml`` ``shared:``, env vars winning); embedded without."""
        try:
            return shared_settings(self.config.shared)
        except ValueError as err:
            raise ConfigError(str(err)) from err

    def _workspace_table(self) -> dict[str, object]:
        data = tomllib.loads((self.root / "pyproject.toml").read_text(encoding="utf-8"))
        return dict(data.get("tool", {}).get("uv", {}).get("workspace", {}))

    def member_dirs(self) -> set[Path]:
        """The folders uv takes as workspace members: the root pyproject's ``members`` globs minus ``exclude``."""
        table = self._workspace_table()
        found = {p.resolve() for pattern in table.get("members", []) for p in self.root.glob(str(pattern))}  # type: ignore[attr-defined]
        excluded = {p.resolve() for pattern in table.get("exclude", []) for p in self.root.glob(str(pattern))}  # type: ignore[attr-defined]
        return {p for p in found - excluded if p.is_dir()}

    def env_problem(self, lab: Lab) -> str:
        """Why uv cannot give ``lab`` a venv (one line naming the folder and what to do), or "" when it can."""
        try:
            lab.package  # noqa: B018 - reads and checks the lab's pyproject.toml
        except ConfigError as err:
            return str(err)
        if lab.paths.root not in self.member_dirs():
            return (
                f'{lab.folder}: not a uv workspace member: add "{lab.folder}" to the workspace members '
                "of the root pyproject.toml, then run `uv lock`"
            )
        return ""

    def lab_names(self) -> list[str]:
        return sorted(p.parent.name for p in self.labs_dir.glob("*/lab.yaml"))

    def labs(self) -> list[Lab]:
        return [Lab.from_dir(self.labs_dir / name) for name in self.lab_names()]

    def lab(self, name: str) -> Lab:
        """The lab called ``name``; a clear error (with a suggestion) if there is none."""
        names = self.lab_names()
        if "/" in name or "\\" in name or name.startswith("."):
            raise LabNotFoundError(
                f"{name!r} is not a lab name: give a folder name under labs/ ({', '.join(names) or 'none yet'})"
            )
        malformed = len(name) > LAB_NAME_MAX or not (name.isascii() and name.isprintable())
        problem = lab_name_problem(name) if malformed else None  # a near miss gets "did you mean" below
        if problem:
            raise LabNotFoundError(problem)
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; labs: {', '.join(names) or 'none'}"
            raise LabNotFoundError(f"unknown lab {name!r}{hint}")
        return Lab.from_dir(self.labs_dir / name)
