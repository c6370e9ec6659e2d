"""No module of buildcpg_shared imports a layer above its own (docs/layout.md, "Layers").

Every import counts: at module level, inside functions (lazy imports) and under ``TYPE_CHECKING``.
A unit is a package (``ingest``) or a top-level module (``schema``); imports inside one unit are free,
imports between two units of the same layer are not (a layer's units stand side by side).
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import WORKSPACE_ROOT

PACKAGE = "buildcpg_shared"
SOURCE = WORKSPACE_ROOT / "packages" / "buildcpg-shared" / "src" / PACKAGE
LAYOUT_DOC = WORKSPACE_ROOT / "docs" / "layout.md"

# bottom first; a unit may import only units of lower layers
LAYERS: list[tuple[str, ...]] = [
    ("errors",),
    ("run_record",),
    ("schema", "node_errors"),
    ("config",),
    ("registry", "lab_lock", "store", "state_db"),
    ("validate", "history"),
    ("ingest",),
    ("inspect",),
    ("quality",),
    ("serving",),
    ("pipeline",),
    ("alerts",),
    ("orchestrate",),
    ("report",),
    ("scaffold",),
    ("local_servers",),
    ("testing",),
    ("cli", "pytest_plugin"),
]
LAYER_OF = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def _module_name(path: Path) -> str:
    parts = [PACKAGE, *path.relative_to(SOURCE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported module) for every import of buildcpg_shared in one file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            if base == PACKAGE:  # from buildcpg_shared import ingest
                found += [(node.lineno, f"{PACKAGE}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, base))
    return [(line, name) for line, name in found if name == PACKAGE or name.startswith(PACKAGE + ".")]


def _modules() -> list[Path]:
    return sorted(p for p in SOURCE.rglob("*.py") if "template" not in p.relative_to(SOURCE).parts)


def test_every_unit_has_a_layer() -> None:
    units = {_unit(_module_name(p)) for p in _modules()} - {PACKAGE}
    assert sorted(units - set(LAYER_OF)) == [], "add the new package or module to LAYERS and to docs/layout.md"
    assert sorted(set(LAYER_OF) - units) == [], "a layer names a unit that no longer exists"


def test_no_module_imports_a_layer_above_its_own() -> None:
    problems = []
    for path in _modules():
        module = _module_name(path)
        unit = _unit(module)
        if unit == PACKAGE:
            continue
        for line, imported in _imports(path, module):
            target = _unit(imported)
            if target in (unit, PACKAGE):
                continue
            if LAYER_OF[target] >= LAYER_OF[unit]:
                where = "the same layer as" if LAYER_OF[target] == LAYER_OF[unit] else "a layer above"
                problems.append(
                    f"{path.relative_to(SOURCE.parent)}:{line}: {module} (layer {LAYER_OF[unit]} {unit}) imports "
                    f"{imported}, {where} it (layer {LAYER_OF[target]} {target})"
                )
    assert problems == [], "\n".join(problems)


def test_the_checker_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    source = tmp_path / PACKAGE / "ingest" / "x.py"
    source.parent.mkdir(parents=True)
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from buildcpg_shared.pipeline.runner import LabRunner\n"
        "def f():\n    from ..orchestrate import service\n    import buildcpg_shared.cli.app\n"
        "from . import load\n"
    )
    found = sorted(name for _, name in _imports(source, f"{PACKAGE}.ingest.x"))
    assert found == [f"{PACKAGE}.cli.app", f"{PACKAGE}.ingest", f"{PACKAGE}.orchestrate", f"{PACKAGE}.pipeline.runner"]


def test_the_layout_doc_lists_the_same_layers() -> None:
    rows = {
        line.split("|")[1].strip(): line
        for line in LAYOUT_DOC.read_text(encoding="utf-8").splitlines()
        if line.startswith("| ") and line.split("|")[1].strip().isdigit()
    }
    assert sorted(rows, key=int) == [str(rank) for rank in range(len(LAYERS))], "docs/layout.md lists other layers"
    for rank, units in enumerate(LAYERS):
        assert str(rank) in rows, f"docs/layout.md has no row for layer {rank}"
        cells = rows[str(rank)].split("|")[2]
        named = {word.strip("` ,") for word in cells.split("`")[1::2]}
        assert named == set(units), f"docs/layout.md layer {rank} names {sorted(named)}, the test {sorted(units)}"
