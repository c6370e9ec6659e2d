"""Wrap an existing dbt project as a lab (``buildcpg new-lab NAME --from-dbt PATH``).

The dbt project is copied into ``labs/<lab>/dbt`` unchanged (models, seeds, tests, macros, snapshots,
dbt_project.yml, packages.yml…), honouring its ``.gitignore`` files and leaving out what is not the
project: version control (``.git``, ``.github``), build output (``target/``, ``logs/``,
``dbt_packages/`` or the paths dbt_project.yml names), its own profiles.yml (a new one is generated
for the project's profile name, pointing at the lab's database) and its Python environment files,
whose dependencies (``requirements.txt`` or ``pyproject.toml``) go into the lab's own pyproject.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from buildcpg_shared.errors import ScaffoldError

# anywhere in the project
_NEVER = (".git", ".github", ".venv", "venv", "__pycache__", ".user.yml", "*.duckdb", "*.duckdb.wal", ".DS_Store")
# at the project's top: its build output, its own connection, its Python environment (carried, not copied)
_NOT_AT_TOP = (
    "target",
    "logs",
    "dbt_packages",
    "profiles.yml",
    "package-lock.yml",
    "pyproject.toml",
    "uv.lock",
    "requirements*.txt",
    ".python-version",
)
_PROJECT_PATH_KEYS = ("target-path", "log-path", "packages-install-path")
# the lab pins dbt-core and dbt-duckdb itself; a project's own dbt pins are not carried
_NAME_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def read_project(project_dir: Path) -> dict[str, object]:
    """dbt_project.yml as a mapping; a clear error when the folder is not a dbt project."""
    project_yml = project_dir / "dbt_project.yml"
    if not project_yml.is_file():
        raise ScaffoldError(f"{project_dir}: not a dbt project (no dbt_project.yml)")
    try:
        data = yaml.safe_load(project_yml.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ScaffoldError(f"{project_yml}: cannot read: {err}") from err
    if not isinstance(data, dict):
        raise ScaffoldError(f"{project_yml}: not a mapping")
    return data


def read_profile_name(project_dir: Path) -> str:
    """The ``profile:`` of a dbt project; a clear error when the folder is not a dbt project."""
    profile = read_project(project_dir).get("profile")
    if not isinstance(profile, str) or not profile.strip():
        raise ScaffoldError(
            f"{project_dir / 'dbt_project.yml'}: no 'profile:' name (dbt needs one to find its connection)"
        )
    return profile.strip()


@dataclass
class _GitIgnore:
    """The patterns of one ``.gitignore`` (the common subset: globs, ``/`` anchors, ``dir/``, ``!`` negation)."""

    base: Path
    rules: list[tuple[str, bool, bool, bool]] = field(default_factory=list)  # pattern, negate, dir_only, anchored

    @classmethod
    def read(cls, path: Path) -> _GitIgnore:
        ignore = cls(path.parent)
        for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            line = line[1:] if negate else line
            dir_only = line.endswith("/")
            line = line.rstrip("/")
            line = line[3:] if line.startswith("**/") else line  # any depth: the same as a bare name
            anchored = "/" in line
            ignore.rules.append((line.lstrip("/"), negate, dir_only, anchored))
        return ignore

    def ignored(self, path: Path, is_dir: bool, current: bool) -> bool:
        rel = path.relative_to(self.base).as_posix()
        for pattern, negate, dir_only, anchored in self.rules:
            if dir_only and not is_dir:
                continue
            hit = fnmatch.fnmatchcase(rel, pattern) if anchored else fnmatch.fnmatchcase(path.name, pattern)
            if hit or (anchored and pattern.endswith("/**") and rel.startswith(pattern[:-3])):
                current = not negate
        return current


def _left_out_at_top(project_dir: Path) -> tuple[str, ...]:
    named = read_project(project_dir)
    extra = tuple(str(named[k]).strip("/") for k in _PROJECT_PATH_KEYS if isinstance(named.get(k), str))
    return _NOT_AT_TOP + extra


def copy_project(project_dir: Path, dbt_dir: Path) -> list[str]:
    """Copy the dbt project into the lab's dbt folder, unchanged; returns what was left out (relative paths)."""
    top = _left_out_at_top(project_dir)
    ignores: dict[Path, _GitIgnore] = {}
    left_out: list[str] = []

    def ignore(directory: str, names: list[str]) -> set[str]:
        folder = Path(directory)
        if (folder / ".gitignore").is_file():
            ignores[folder] = _GitIgnore.read(folder / ".gitignore")
        chain = [ignores[p] for p in (folder, *folder.parents) if p in ignores]
        chain.reverse()  # the project's top .gitignore first, the nearest one last (it wins)
        skipped = set()
        for name in names:
            path = folder / name
            is_dir = path.is_dir()
            out = any(fnmatch.fnmatchcase(name, p) for p in _NEVER)
            out = out or (folder == project_dir and any(fnmatch.fnmatchcase(name, p) for p in top))
            if not out:
                state = False
                for rules in chain:
                    state = rules.ignored(path, is_dir, state)
                out = state
            if out:
                skipped.add(name)
                left_out.append(path.relative_to(project_dir).as_posix() + ("/" if is_dir else ""))
        return skipped

    shutil.copytree(project_dir, dbt_dir, ignore=ignore, symlinks=True)
    return sorted(left_out)


def python_dependencies(project_dir: Path) -> tuple[list[str], list[str]]:
    """The project's Python dependencies (pyproject ``[project] dependencies``, else requirements.txt),
    as (carried, not carried): dbt-core and adapters are not carried, since the lab pins its own dbt."""
    found: list[str] = []
    pyproject = project_dir / "pyproject.toml"
    requirements = project_dir / "requirements.txt"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise ScaffoldError(f"{pyproject}: cannot read: {err}") from err
        deps = data.get("project", {}).get("dependencies", [])
        if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
            raise ScaffoldError(f"{pyproject}: [project] dependencies must be a list of strings")
        found = [d.strip() for d in deps]
    elif requirements.is_file():
        found = _requirements(requirements)
    carried, dropped = [], []
    for requirement in found:
        name = _NAME_RE.match(requirement)
        if name is None:
            raise ScaffoldError(
                f"{requirements if not pyproject.is_file() else pyproject}: cannot read {requirement!r}"
            )
        (dropped if name.group(1).lower().replace("_", "-").startswith("dbt-") else carried).append(requirement)
    return carried, dropped


def _requirements(path: Path) -> list[str]:
    lines = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-", "git+", "http:", "https:", "file:", ".", os.sep)):
            raise ScaffoldError(
                f"{path}:{number}: {line!r} is not a plain requirement (name and version); "
                "add it to the lab's pyproject.toml by hand after new-lab"
            )
        lines.append(line)
    return lines
