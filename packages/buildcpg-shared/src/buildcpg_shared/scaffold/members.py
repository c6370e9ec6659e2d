"""The uv workspace members of the root pyproject.toml: one entry per lab, kept by new-lab and remove-lab.

Labs are listed one by one rather than as a ``labs/*`` glob: uv refuses the whole workspace while a glob
matches a folder without a pyproject.toml, so one stray folder under labs/ would stop every lab.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

from buildcpg_shared.errors import ScaffoldError

_MEMBERS = re.compile(r"(?ms)^(\[tool\.uv\.workspace\][^\[]*?^members\s*=\s*)\[[^\]]*\]")


def _members(pyproject: Path) -> list[str]:
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    return list(data.get("tool", {}).get("uv", {}).get("workspace", {}).get("members", []))


def _write(pyproject: Path, members: list[str]) -> None:
    text = pyproject.read_text(encoding="utf-8")
    array = "[\n" + "".join(f'    "{m}",\n' for m in members) + "]"
    new, count = _MEMBERS.subn(lambda m: m.group(1) + array, text, count=1)
    if count != 1:
        raise ScaffoldError(f"{pyproject}: no members = [...] under [tool.uv.workspace] to register the lab in")
    pyproject.write_text(new, encoding="utf-8")


def add_member(root: Path, folder: str) -> bool:
    """List ``folder`` (``labs/<lab>``) as a workspace member unless a member entry or glob already covers it."""
    pyproject = root / "pyproject.toml"
    members = _members(pyproject)
    if any(fnmatch.fnmatchcase(folder, m) for m in members):
        return False
    _write(pyproject, [*members, folder])
    return True


def remove_member(root: Path, folder: str) -> bool:
    """Drop the entry that names ``folder`` exactly (a glob stays); True when one was dropped."""
    pyproject = root / "pyproject.toml"
    members = _members(pyproject)
    if folder not in members:
        return False
    _write(pyproject, [m for m in members if m != folder])
    return True
