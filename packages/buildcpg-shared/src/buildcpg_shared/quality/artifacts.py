"""Read dbt's own artifacts (``run_results.json``, ``manifest.json``, ``sources.json``), never its logs.

dbt writes them into ``labs/<lab>/dbt/target``: ``dbt test`` writes ``run_results.json``,
``dbt source freshness`` writes ``sources.json``, ``parse`` writes ``manifest.json``. Each
outcome is mapped through the manifest to the model (and gold table) it tests.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from buildcpg_shared.errors import StepError

RUN_RESULTS = "run_results.json"
MANIFEST = "manifest.json"
SOURCES = "sources.json"


@dataclass(frozen=True)
class TestOutcome:
    """One dbt data test of one run."""

    __test__ = False  # not a pytest test class

    unique_id: str
    name: str
    status: str  # pass | warn | fail | error | skipped
    failures: int
    message: str
    test_type: str  # not_null, unique, relationships, ... or "singular"
    column_name: str | None
    models: tuple[str, ...]  # relations tested, as "schema.table"
    execution_time: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FreshnessOutcome:
    """dbt's freshness verdict on one source table."""

    unique_id: str
    source: str  # "raw.sales"
    status: str  # pass | warn | error | runtime error
    max_loaded_at: str | None
    age_s: float | None
    warn_after_hours: int | None
    error_after_hours: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DbtArtifacts:
    """The tests and freshness outcomes of one run, plus the lineage of gold tables to sources."""

    invocation_id: str = ""
    tests: list[TestOutcome] = field(default_factory=list)
    freshness: list[FreshnessOutcome] = field(default_factory=list)
    upstream_sources: dict[str, list[str]] = field(default_factory=dict)  # "gold.t" -> ["raw.sales", ...]


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise StepError(f"{path}: dbt artifact missing or unreadable ({err.strerror})") from err
    except ValueError as err:
        raise StepError(f"{path}: dbt artifact is not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise StepError(f"{path}: dbt artifact is not a JSON object")
    return data


def _relation(node: dict[str, Any]) -> str:
    return f"{node.get('schema')}.{node.get('alias') or node.get('name')}"


def _sla_hours(criteria: dict[str, Any], key: str) -> int | None:
    value = (criteria or {}).get(key) or {}
    count, period = value.get("count"), value.get("period")
    if count is None or period is None:
        return None
    return int(count) * {"minute": 1 / 60, "hour": 1, "day": 24}.get(str(period), 1)  # type: ignore[return-value]


def _upstream_sources(manifest: dict[str, Any]) -> dict[str, list[str]]:
    """Every model's source tables, following ``parent_map`` transitively."""
    parents: dict[str, list[str]] = manifest.get("parent_map", {})
    nodes, sources = manifest.get("nodes", {}), manifest.get("sources", {})
    memo: dict[str, set[str]] = {}

    def walk(uid: str) -> set[str]:
        if uid not in memo:
            memo[uid] = set()
            found: set[str] = set()
            for parent in parents.get(uid, []):
                found |= {_relation(sources[parent])} if parent in sources else walk(parent)
            memo[uid] = found
        return memo[uid]

    return {_relation(node): sorted(walk(uid)) for uid, node in nodes.items() if node.get("resource_type") == "model"}


def read_tests(target: Path, manifest: dict[str, Any]) -> tuple[str, list[TestOutcome]]:
    """(invocation id, test outcomes) from ``run_results.json`` written by ``dbt test``."""
    results = _load(target / RUN_RESULTS)
    nodes = manifest.get("nodes", {})
    outcomes = []
    for result in results.get("results", []):
        uid = str(result.get("unique_id", ""))
        if not uid.startswith("test."):
            continue
        node = nodes.get(uid, {})
        meta = node.get("test_metadata") or {}
        tested = [nodes[n] for n in node.get("depends_on", {}).get("nodes", []) if n in nodes]
        outcomes.append(
            TestOutcome(
                unique_id=uid,
                name=str(node.get("name") or uid.split(".")[-2]),
                status=str(result.get("status")),
                failures=int(result.get("failures") or 0),
                message=str(result.get("message") or "").strip().splitlines()[0] if result.get("message") else "",
                test_type=str(meta.get("name") or "singular"),
                column_name=node.get("column_name"),
                models=tuple(_relation(n) for n in tested),
                execution_time=float(result.get("execution_time") or 0.0),
            )
        )
    return str(results.get("metadata", {}).get("invocation_id", "")), outcomes


def read_freshness(target: Path) -> list[FreshnessOutcome]:
    """Freshness outcomes from ``sources.json`` written by ``dbt source freshness``."""
    outcomes = []
    for result in _load(target / SOURCES).get("results", []):
        uid = str(result.get("unique_id", ""))
        parts = uid.split(".")
        criteria = result.get("criteria") or {}
        outcomes.append(
            FreshnessOutcome(
                unique_id=uid,
                source=".".join(parts[-2:]) if len(parts) >= 2 else uid,
                status=str(result.get("status")),
                max_loaded_at=result.get("max_loaded_at"),
                age_s=result.get("max_loaded_at_time_ago_in_s"),
                warn_after_hours=_sla_hours(criteria, "warn_after"),
                error_after_hours=_sla_hours(criteria, "error_after"),
            )
        )
    return outcomes


def read_manifest(target: Path) -> dict[str, Any]:
    return _load(target / MANIFEST)


def read_artifacts(target: Path) -> DbtArtifacts:
    """Tests, freshness and lineage from a dbt ``target`` folder after ``dbt test`` + ``source freshness``."""
    manifest = read_manifest(target)
    invocation, tests = read_tests(target, manifest)
    freshness = read_freshness(target) if (target / SOURCES).exists() else []
    return DbtArtifacts(invocation, tests, freshness, _upstream_sources(manifest))
