"""Wrap an existing dbt project as a lab (``buildcpg new-lab NAME --from-dbt PATH``).

Only the dbt project is copied into ``labs/<lab>/dbt``, unchanged: dbt_project.yml, packages.yml,
dependencies.yml, selectors.yml and the folders its ``*-paths`` name (models, seeds, tests, macros,
snapshots, analyses…), honouring its ``.gitignore`` files. Everything else stays behind and is named
in the output: what is not the project (Dockerfile, images/, .vscode/, LICENSE, README, CI files),
version control, build output (``target/``, ``logs/``, ``dbt_packages/`` or the paths dbt_project.yml
names), its own profiles.yml (a new one is generated for the project's profile name, pointing at the
lab's database) and its Python environment files. Of those, only the direct requirements join the
lab's own pyproject (see ``python_dependencies``).
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
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
# what a dbt project is made of at its top: these files, and the folders its *-paths name (dbt's defaults)
_PROJECT_FILES = ("dbt_project.yml", "packages.yml", "dependencies.yml", "selectors.yml")
_PROJECT_DIRS: dict[str, list[str]] = {
    "model-paths": ["models"],
    "seed-paths": ["seeds"],
    "test-paths": ["tests"],
    "analysis-paths": ["analyses"],
    "macro-paths": ["macros"],
    "snapshot-paths": ["snapshots"],
    "docs-paths": [],
    "asset-paths": [],
}
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


def project_parts(project_dir: Path) -> set[str]:
    """The top-level names that make the dbt project: its files and the first folder of each path
    dbt_project.yml sets (or dbt's default). Anything else (Dockerfile, images/, .vscode/, LICENSE,
    README, CI files) is not the project and stays behind."""
    named = read_project(project_dir)
    parts = set(_PROJECT_FILES)
    for key, default in _PROJECT_DIRS.items():
        paths = named.get(key, default)
        for path in paths if isinstance(paths, list) else [paths]:
            first = Path(str(path).strip("/")).parts[:1]
            if first and first[0] not in ("..", "."):
                parts.add(first[0])
    return parts


def copy_project(project_dir: Path, dbt_dir: Path) -> list[str]:
    """Copy the dbt project into the lab's dbt folder, unchanged; returns what was left out (relative paths)."""
    top = _left_out_at_top(project_dir)
    parts = project_parts(project_dir)
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
            at_top = folder == project_dir
            out = out or (at_top and (name not in parts or any(fnmatch.fnmatchcase(name, p) for p in top)))
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


@dataclass
class Requirements:
    """A project's Python requirements, sorted: what joins the lab's pyproject and what does not, and why."""

    carried: list[str] = field(default_factory=list)  # direct requirements, exact pins relaxed to >=
    platform: list[str] = field(default_factory=list)  # dbt and the platform's own packages: the lab's versions win
    transitive: list[str] = field(default_factory=list)  # pip-compile pins of dependencies: uv resolves them

    def lines(self) -> list[str]:
        """What adoption says about them, one line each."""
        out = []
        if self.carried:
            out.append(f"its Python dependencies join the lab's pyproject.toml: {', '.join(self.carried)}")
        if self.platform:
            out.append(
                "not carried (the lab's platform provides them at its own versions, e.g. buildcpg-shared "
                f"needs duckdb>=1.4 and the lab pins dbt-core and dbt-duckdb): {', '.join(self.platform)}"
            )
        if self.transitive:
            names = ", ".join(_name(r) for r in self.transitive[:8]) + (", …" if len(self.transitive) > 8 else "")
            out.append(
                f"not carried: {len(self.transitive)} pin(s) pip-compile made for dependencies of dependencies "
                f"(uv resolves those itself): {names}"
            )
        return out


def _name(requirement: str) -> str:
    match = _NAME_RE.match(requirement)
    return match.group(1).lower().replace("_", "-") if match else requirement


def platform_packages() -> set[str]:
    """Names the lab gets from the platform: dbt-core, dbt-duckdb and buildcpg-shared's own dependencies."""
    try:
        required = importlib.metadata.requires("buildcpg-shared") or []
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - the CLI runs where it is installed
        required = []
    return {"buildcpg-shared", "dbt-core", "dbt-duckdb"} | {_name(r) for r in required if "extra ==" not in r}


def _relaxed(requirement: str) -> str:
    """An exact pin (``name==1.2``) as a compatible lower bound (``name>=1.2``): a lock's pin is not a need."""
    return re.sub(r"===?\s*(?=[0-9])", ">=", requirement, count=1)


def python_dependencies(project_dir: Path) -> Requirements:
    """The project's direct Python requirements (pyproject ``[project] dependencies``, else
    requirements.in, else requirements.txt: with pip-compile's ``# via`` notes, only those ``via -r``),
    sorted into carried, provided by the platform, and pip-compile's transitive pins."""
    pyproject = project_dir / "pyproject.toml"
    found: list[tuple[str, bool]] = []  # (requirement, direct)
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise ScaffoldError(f"{pyproject}: cannot read: {err}") from err
        deps = data.get("project", {}).get("dependencies", [])
        if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
            raise ScaffoldError(f"{pyproject}: [project] dependencies must be a list of strings")
        found = [(d.strip(), True) for d in deps]
    elif (project_dir / "requirements.in").is_file():
        direct = {_name(r) for r, _ in _requirements(project_dir / "requirements.in")}
        found = [(r, True) for r, _ in _requirements(project_dir / "requirements.in")]
        if (project_dir / "requirements.txt").is_file():
            found += [(r, False) for r, _ in _requirements(project_dir / "requirements.txt") if _name(r) not in direct]
    elif (project_dir / "requirements.txt").is_file():
        found = _requirements(project_dir / "requirements.txt")
    platform = platform_packages()
    result = Requirements()
    for requirement, direct in found:
        name = _name(requirement)
        if name in platform or name.startswith("dbt-"):
            result.platform.append(requirement)
        elif direct:
            result.carried.append(_relaxed(requirement))
        else:
            result.transitive.append(requirement)
    return result


def _requirements(path: Path) -> list[tuple[str, bool]]:
    """(requirement, direct) of a requirements file. A pip-compiled one says with ``# via`` notes which
    came from the input file (``via -r …``): only those are direct. Hash lines are skipped."""
    entries: list[tuple[str, list[str]]] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = raw.strip().rstrip("\\").strip()
        note = stripped[1:].strip() if stripped.startswith("#") else ""
        if note and entries:  # a pip-compile note under the last requirement: "via x", "via", "  -r in"
            entries[-1][1].append(note)
            continue
        line = raw.split(" #", 1)[0].rstrip("\\").strip()
        if not line or line.startswith("#") or line.startswith("--hash"):
            continue
        if line.startswith(("-", "git+", "http:", "https:", "file:", ".", os.sep)):
            raise ScaffoldError(
                f"{path}:{number}: {line!r} is not a plain requirement (name and version); "
                "add it to the lab's pyproject.toml by hand after new-lab"
            )
        inline = raw.split(" #", 1)[1].strip() if " #" in raw else ""
        entries.append((line, [inline] if inline else []))
    compiled = any(any(n.startswith("via") for n in notes) for _, notes in entries)
    if not compiled:
        return [(line, True) for line, _ in entries]
    return [(line, any("-r " in n or n.startswith("-r") for n in notes)) for line, notes in entries]
