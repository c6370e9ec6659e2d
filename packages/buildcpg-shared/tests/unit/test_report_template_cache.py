"""The report's compiled-template cache never hands back code compiled without HTML escaping."""

from __future__ import annotations

from pathlib import Path
from types import CodeType

from buildcpg_shared.report.html import _environment
from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader

TEMPLATE = "report.html.j2"


def _names(code: CodeType) -> set[str]:
    """Every global name the compiled template's code (and its nested blocks) refers to."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= _names(const)
    return names


def _escapes(env: Environment) -> bool:
    """Whether the template as this environment loads it escapes its output (escape() compiled in)."""
    return "escape" in _names(env.get_template(TEMPLATE).root_render_func.__code__)


def test_code_compiled_without_escaping_is_not_reused(tmp_path: Path) -> None:
    # what a checkout from before the autoescape fix left: the same template compiled raw, in the cache
    (tmp_path / "template").mkdir()
    raw = Environment(
        loader=PackageLoader("buildcpg_shared.report", "templates"),
        autoescape=False,
        bytecode_cache=FileSystemBytecodeCache(str(tmp_path / "template")),
    )
    raw.filters.update(utc=str, utc_minute=str)
    assert not _escapes(raw)
    assert list((tmp_path / "template").glob("*.cache"))  # it was written

    assert _escapes(_environment(tmp_path))  # compiled again, escaped
    assert _escapes(_environment(tmp_path))  # and read back from its own cache, still escaped
