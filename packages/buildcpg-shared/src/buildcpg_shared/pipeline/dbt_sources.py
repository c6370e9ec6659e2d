"""The dbt sources of a lab, generated from its lab.yaml (one place where a source is declared).

``dbt/models/staging/_sources.yml`` is a generated, checked-in file: plain ``dbt build`` in the lab's
dbt folder reads it like any sources file, the lab runner and ``make dbt`` rewrite it from lab.yaml
before dbt parses (only when its text changes), and ``buildcpg doctor`` reports a file that drifted.
A file without the generated header (e.g. an adopted dbt project's own) is never touched.

dbt-only extras that lab.yaml does not describe (source tests, a table without freshness, meta) live
in ``dbt/sources_extra.yml`` and are merged into the generated tables by table and column name::

    tables:
      promotions:
        config: {freshness: null}        # optional source: never stale
      sales:
        columns:
          transaction_id: {data_tests: [not_null]}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from buildcpg_shared.config.lab_config import LabConfig, load_lab_config
from buildcpg_shared.errors import ConfigError
from buildcpg_shared.ingest.inputs import INPUTS_SCHEMA
from buildcpg_shared.registry.paths import LabPaths
from buildcpg_shared.validate import Expectation, UniqueKey, expectations_for

SOURCE_NAME = "raw"
SOURCES_FILE = Path("models") / "staging" / "_sources.yml"
EXTRAS_FILE = "sources_extra.yml"
HEADER = "# GENERATED from lab.yaml by buildcpg: do not edit by hand (docs/dbt-sources.md)."
_HEADER_TEXT = (
    f"{HEADER}\n"
    "# Declare sources in lab.yaml (description, columns with descriptions, quality.freshness) and\n"
    f"# dbt-only extras in dbt/{EXTRAS_FILE}; `make run` / `make dbt` rewrite this file.\n"
)
_SOURCE_DESCRIPTION = (
    "Raw files of data/raw, loaded as typed tables by the lab runner before dbt runs (columns and "
    "types from lab.yaml). Rows whose values cannot be cast to the declared types never reach these "
    "tables: the runner sends them to quarantine, and so does a row that breaks a rule of lab.yaml (a column's "
    "'Checked at load', a table's primary key). Staging models therefore do not repeat these rules as dbt "
    "tests. Every table also carries `_source_file` and `_loaded_at`."
)
_INPUTS_DESCRIPTION = (
    "Gold tables other labs publish (lab.yaml `inputs`), read from their serving copies and copied "
    "here at Load together with their published version (_buildcpg.input_versions). Read-only snapshots: "
    "an upstream that publishes during a run changes nothing until this lab's next run."
)
_META_COLUMNS = {
    "_source_file": "File the row was loaded from, relative to data/raw.",
    "_loaded_at": "When the runner loaded the row.",
}
_OBJECT_SOURCE_FILE = "Object the row was loaded from: its s3:// URL."  # a source whose files are on storage


class _Dumper(yaml.SafeDumper):
    """Readable YAML: Jinja in double quotes, long descriptions folded."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if "{{" in value else (">" if len(value) > 80 else None)
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def sources_path(paths: LabPaths) -> Path:
    """Where the lab's generated sources file lives."""
    return paths.dbt_dir / SOURCES_FILE


def _table(name: str, config: LabConfig) -> dict[str, Any]:
    source = config.sources[name]
    where = source.files if source.remote else f"data/raw/{source.file_glob(name)}"
    description = " ".join(source.description.split())
    rules = expectations_for(source)
    key = next((f" Checked at load: {r.describe()}." for r in rules if isinstance(r, UniqueKey)), "")
    table: dict[str, Any] = {"name": name, "description": f"{description} Files: {where}.{key}".strip()}
    columns = [
        {"name": c, "description": _column_description(spec.description, [r for r in rules if r.column == c])}
        for c, spec in source.columns.items()
    ]
    meta = {**_META_COLUMNS, "_source_file": _OBJECT_SOURCE_FILE} if source.remote else _META_COLUMNS
    columns += [{"name": c, "description": text} for c, text in meta.items()]
    table["columns"] = [{k: v for k, v in column.items() if v} for column in columns]
    return table


def _column_description(said: str, rules: list[Expectation]) -> str:
    """A column's lab.yaml description plus the rules Load enforces on it (validate.expectations)."""
    checked = "; ".join(r.describe() for r in rules if not isinstance(r, UniqueKey))
    return " ".join([*said.split(), *([f"Checked at load: {checked}."] if checked else [])])


def _inputs_source(config: LabConfig) -> dict[str, Any]:
    """The ``inputs`` source: other labs' published gold tables, copied at Load (docs/lab-graph.md)."""
    tables = []
    for name, spec in config.inputs.items():
        said = " ".join(spec.description.split())
        table: dict[str, Any] = {
            "name": name,
            "description": f"{said} Published {spec.table} of lab {spec.lab} (its serving copy).".strip(),
            "config": {"meta": {"upstream_lab": spec.lab, "upstream_table": spec.table}},
        }
        if spec.columns:
            table["columns"] = [{"name": c} for c in spec.columns]
        tables.append(table)
    return {
        "name": INPUTS_SCHEMA,
        "schema": INPUTS_SCHEMA,
        "description": _INPUTS_DESCRIPTION,
        "tables": tables,
    }


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``: mappings merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _apply_extras(source: dict[str, Any], extras: dict[str, Any], where: Path) -> dict[str, Any]:
    unknown = set(extras) - {"source", "tables"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (only 'source' and 'tables')")
    source = _merge(source, extras.get("source") or {})
    tables = {t["name"]: t for t in source["tables"]}
    for table_name, table_extra in (extras.get("tables") or {}).items():
        if table_name not in tables:
            raise ConfigError(f"{where}: tables.{table_name}: not a source in lab.yaml ({', '.join(tables)})")
        table_extra = dict(table_extra or {})
        column_extras = table_extra.pop("columns", None) or {}
        table = _merge(tables[table_name], table_extra)
        columns = {c["name"]: c for c in table["columns"]}
        for column_name, column_extra in column_extras.items():
            if column_name not in columns:
                raise ConfigError(f"{where}: tables.{table_name}.columns.{column_name}: not a column of the source")
            columns[column_name] = _merge(columns[column_name], column_extra or {})
        table["columns"] = list(columns.values())
        tables[table_name] = table
    source["tables"] = list(tables.values())
    return source


def _read_extras(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping with 'tables' (and optionally 'source')")
    return data


def render_sources(config: LabConfig, extras_path: Path | None = None) -> str:
    """The text of ``_sources.yml`` for a lab.yaml (plus the lab's dbt-only extras, if any)."""
    sla = config.quality.freshness
    source: dict[str, Any] = {
        "name": SOURCE_NAME,
        "schema": SOURCE_NAME,
        "description": _SOURCE_DESCRIPTION,
        "config": {
            "loaded_at_field": "_loaded_at",
            # vars generated from lab.yaml into dbt_project.yml (dbt_project_vars); the same values as defaults
            "freshness": {
                "warn_after": {
                    "count": f"{{{{ var('buildcpg_warn_after_hours', {sla.warn_after_hours}) }}}}",
                    "period": "hour",
                },
                "error_after": {
                    "count": f"{{{{ var('buildcpg_error_after_hours', {sla.error_after_hours}) }}}}",
                    "period": "hour",
                },
            },
        },
        "tables": [_table(name, config) for name in config.sources],
    }
    if extras_path is not None:
        source = _apply_extras(source, _read_extras(extras_path), extras_path)
    sources = [source] if config.sources or not config.inputs else []
    if config.inputs:
        sources.append(_inputs_source(config))
    body = yaml.dump({"version": 2, "sources": sources}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return _HEADER_TEXT + body


def expected_sources(paths: LabPaths, config: LabConfig | None = None) -> str:
    """The generated text for the lab at ``paths`` (lab.yaml read when ``config`` is not given)."""
    return render_sources(config or load_lab_config(paths.lab_yaml), paths.dbt_dir / EXTRAS_FILE)


def is_generated(path: Path) -> bool:
    """Is this sources file ours to rewrite (it starts with the generated header)?"""
    try:
        with path.open(encoding="utf-8") as handle:
            return handle.readline().rstrip("\n") == HEADER
    except OSError:
        return False


def sources_drift(paths: LabPaths, config: LabConfig | None = None) -> str:
    """One line saying how the lab's sources file differs from lab.yaml, or "" when it is in sync
    (or hand-written: an adopted project declares its own sources)."""
    path = sources_path(paths)
    if not is_generated(path):
        return ""
    if path.read_text(encoding="utf-8") != expected_sources(paths, config):
        return (
            f"{path}: out of date with lab.yaml (or {EXTRAS_FILE}); "
            f"`make dbt ARGS=parse` in labs/{paths.name} rewrites it"
        )
    return ""


def write_sources(paths: LabPaths, config: LabConfig | None = None) -> bool:
    """Rewrite the generated sources file from lab.yaml when its text differs; True when it was written.

    Unchanged text is not rewritten, so dbt's partial parsing keeps working.
    """
    path = sources_path(paths)
    if not is_generated(path):
        return False
    text = expected_sources(paths, config)
    if path.read_text(encoding="utf-8") == text:
        return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return True
