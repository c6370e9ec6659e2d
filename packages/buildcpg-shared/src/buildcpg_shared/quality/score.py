"""The quality score (0-100) of a lab and of each gold table, from parts shown with their weights.

score = 100 x sum(weight x value) / sum(weight), over the parts that apply (value in 0..1):

* ``tests``        dbt test pass rate: pass 1, warn 0.5, fail/error 0 (skipped tests do not count)
* ``validity``     1 - rejected / (loaded + rejected) rows of the upstream sources (the ledger)
* ``completeness`` share of non-null values in required columns (lab: ``required: true`` in lab.yaml;
                   table: columns with a ``not_null`` test)
* ``uniqueness``   distinct / non-null values of key columns (columns with a ``unique`` test)
* ``freshness``    dbt source freshness of the upstream sources: pass 1, warn 0.5, error 0
* ``monitors``     only with ``monitors:`` in lab.yaml: share of the monitored column values inside their band
                   (median ± k x MAD of past runs); flagged on any anomaly (quality/monitors.py)
* ``volume``       1, or 0 (flagged) when the table is empty, when its size is a sudden drop or spike
                   against the median of its recent sizes, or (lab) when this run's new rows are far
                   from the typical increment of recent runs (like with like: never against a full load)

A part with nothing to measure (e.g. a table without key columns) is shown as n/a and left out.
A run whose Transform or Test failed is *gated*: its lab score is 0 whatever the parts say (they
stay visible, with the ``weighted`` score they would give). See docs/quality.md.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb

from buildcpg_shared.config.lab_config import LabConfig, QualityWeights, VolumeConfig
from buildcpg_shared.ingest.ledger import LEDGER
from buildcpg_shared.quality.artifacts import DbtArtifacts
from buildcpg_shared.quality.monitors import MonitorResult
from buildcpg_shared.schema import RAW_SCHEMA, qualified, quote_ident

TEST_VALUE = {"pass": 1.0, "success": 1.0, "warn": 0.5, "fail": 0.0, "error": 0.0, "runtime error": 0.0}
FRESHNESS_VALUE = {"pass": 1.0, "warn": 0.5, "error": 0.0, "runtime error": 0.0}
PART_NAMES = ("tests", "validity", "completeness", "uniqueness", "freshness", "volume")


@dataclass
class QualityPart:
    """One part of a score: its value (0..1, None = not applicable), its weight and what it is made of."""

    name: str
    weight: float
    value: float | None
    detail: str
    flagged: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class QualityScore:
    """The score of one scope: ``lab`` or a gold table ``gold.<name>``."""

    scope: str
    parts: list[QualityPart]
    threshold: float | None = None
    row_count: int | None = None
    tables: dict[str, QualityScore] = field(default_factory=dict)
    gate: str = ""  # why this run cannot pass whatever its parts say ("transform failed"); score 0

    @property
    def weighted(self) -> float:
        """The weighted mean of the applicable parts (what the score is unless the run is gated)."""
        applicable = [p for p in self.parts if p.value is not None and p.weight > 0]
        total = sum(p.weight for p in applicable)
        if not total:
            return 100.0
        return round(100 * sum(p.weight * float(p.value or 0) for p in applicable) / total, 2)

    @property
    def score(self) -> float:
        return 0.0 if self.gate else self.weighted

    @property
    def passed(self) -> bool:
        return not self.gate and (self.threshold is None or self.score >= self.threshold)

    def part(self, name: str) -> QualityPart:
        return next(p for p in self.parts if p.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "score": self.score,
            "weighted": self.weighted,
            "gate": self.gate,
            "threshold": self.threshold,
            "passed": self.passed,
            "row_count": self.row_count,
            "parts": [p.to_dict() for p in self.parts],
            "tables": {k: v.to_dict() for k, v in self.tables.items()},
        }


def _ratio(num: float, den: float) -> float | None:
    return None if den <= 0 else num / den


def _mean(values: list[float]) -> float | None:
    return None if not values else sum(values) / len(values)


def pass_rate_part(weight: float, outcomes: list[str]) -> QualityPart:
    counted = [TEST_VALUE[s] for s in outcomes if s in TEST_VALUE]
    counts = {s: outcomes.count(s) for s in sorted(set(outcomes))}
    detail = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no tests"
    return QualityPart("tests", weight, _mean(counted), detail)


def validity_part(weight: float, loaded: int, rejected: int) -> QualityPart:
    rate = _ratio(rejected, loaded + rejected)
    detail = f"{rejected:,} of {loaded + rejected:,} rows rejected" if rate is not None else "no rows loaded"
    return QualityPart("validity", weight, None if rate is None else 1 - rate, detail)


def freshness_part(weight: float, statuses: dict[str, str]) -> QualityPart:
    values = [FRESHNESS_VALUE.get(s, 0.0) for s in statuses.values()]
    stale = [f"{src} {s}" for src, s in sorted(statuses.items()) if s != "pass"]
    detail = f"{len(values)} source(s)" + (f"; {', '.join(stale)}" if stale else ", all fresh") if values else ""
    return QualityPart("freshness", weight, _mean(values), detail or "no source freshness")


def _band(rows: int, baseline: list[int], rule: VolumeConfig, what: str) -> tuple[bool, str]:
    """(flagged, text): ``rows`` against the median of ``baseline`` (zeros ignored), within the rule's band."""
    known = [b for b in baseline if b > 0]
    if not known:
        return False, f"{rows:,} {what}; no baseline yet"
    base = statistics.median(known)
    change = (rows - base) / base
    flagged = change < -rule.max_drop or change > rule.max_spike
    kind = ("drop" if change < 0 else "spike") if flagged else "within range"
    return flagged, f"{rows:,} {what} vs median {base:,.0f} of {len(known)} run(s): {change:+.0%} ({kind})"


def volume_part(
    weight: float,
    rows: int,
    previous: list[int],
    rule: VolumeConfig,
    *,
    new_rows: int | None = None,
    increments: list[int] | None = None,
) -> QualityPart:
    """Like with like: 0 (flagged) when the table is empty, when its size ``rows`` leaves the band
    [(1 - max_drop), (1 + max_spike)] x median(``previous`` sizes), or when this run's ``new_rows``
    leave that band around the median of the typical ``increments`` (loads after the first full load).

    ``new_rows`` None (a gold table, or a run that loaded the whole table) skips the increment check.
    """
    if rows == 0:
        return QualityPart("volume", weight, 0.0, "0 rows: the table is empty", flagged=True)
    flagged, detail = _band(rows, previous, rule, "rows")
    if new_rows is not None and new_rows > 0:
        grew, text = _band(new_rows, increments or [], rule, "new rows")
        flagged, detail = flagged or grew, f"{detail}; {text.replace('no baseline', 'no typical increment')}"
    elif new_rows == 0:
        detail += "; no new rows this run"
    return QualityPart("volume", weight, 0.0 if flagged else 1.0, detail, flagged=flagged)


def _columns_part(name: str, weight: float, ratios: dict[str, float], what: str) -> QualityPart:
    if not ratios:
        return QualityPart(name, weight, None, f"no {what}")
    worst = min(ratios, key=lambda c: ratios[c])
    detail = f"{len(ratios)} {what}" + (f"; lowest {worst} {ratios[worst]:.2%}" if ratios[worst] < 1 else ", all 100%")
    return QualityPart(name, weight, _mean(list(ratios.values())), detail)


@dataclass
class _TableFacts:
    rows: int
    completeness: dict[str, float]
    uniqueness: dict[str, float]


def _table_facts(con: duckdb.DuckDBPyConnection, relation: str, required: list[str], keys: list[str]) -> _TableFacts:
    """Row count, non-null share of required columns and distinct share of key columns in one pass."""
    schema, _, table = relation.partition(".")
    exprs = ["count(*)"]
    exprs += [f"count({quote_ident(c)})" for c in required]
    exprs += [f"count(distinct {quote_ident(c)})" for c in keys] + [f"count({quote_ident(c)})" for c in keys]
    row = con.execute(f"select {', '.join(exprs)} from {qualified(schema, table)}").fetchone() or (0,)
    rows = int(row[0])
    completeness = {c: (row[1 + i] / rows if rows else 1.0) for i, c in enumerate(required)}
    base = 1 + len(required)
    uniqueness = {
        c: (row[base + i] / row[base + len(keys) + i] if row[base + len(keys) + i] else 1.0) for i, c in enumerate(keys)
    }
    return _TableFacts(rows, completeness, uniqueness)


def _ledger_totals(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    rows = con.execute(f"select source, sum(rows), sum(rejected) from {LEDGER} group by source").fetchall()
    return {str(s): (int(r or 0), int(j or 0)) for s, r, j in rows}


def ledger_increments(con: duckdb.DuckDBPyConnection, run_id: str, window: int) -> tuple[int | None, list[int]]:
    """(rows this run loaded, rows loaded by each of the last ``window`` earlier runs) from the ledger.

    The oldest run in the ledger is the first full load (or the reload of a ``--full-refresh``): it
    is never a typical increment, and when it is this run, the increment check does not apply (None).
    """
    per_run = con.execute(
        f"select run_id, sum(rows) from {LEDGER} where run_id is not null group by run_id order by min(loaded_at)"
    ).fetchall()
    if not per_run or per_run[0][0] == run_id:
        return None, []
    loaded = {str(r): int(n or 0) for r, n in per_run}
    earlier = [int(n or 0) for r, n in per_run[1:] if r != run_id]
    return loaded.get(run_id, 0), earlier[-window:]


def monitors_part(weight: float, result: MonitorResult) -> QualityPart:
    """Share of monitored values inside their band; flagged on any anomaly; n/a while every band is learning."""
    if not result.checked:
        why = f"learning: {result.learning} value(s) need more past runs" if result.learning else "nothing profiled"
        return QualityPart("monitors", weight, None, why)
    bad = len(result.anomalies)
    detail = f"{result.checked - bad}/{result.checked} value(s) in their band"
    if bad:
        detail += "; " + "; ".join(a.describe() for a in result.anomalies[:3])
    return QualityPart("monitors", weight, (result.checked - bad) / result.checked, detail, flagged=bool(bad))


def score_lab(
    con: duckdb.DuckDBPyConnection,
    config: LabConfig,
    artifacts: DbtArtifacts,
    gold_tables: list[str],
    previous_rows: dict[str, list[int]],
    run_id: str = "",
    gate: str = "",
    monitors: MonitorResult | None = None,
) -> QualityScore:
    """Score the lab and each gold table (``schema.table``) from this run's artifacts and data.

    ``previous_rows`` maps a scope (``lab`` or ``gold.<t>``) to the row counts of its recent runs;
    ``run_id`` finds this run's new rows in the ledger; ``gate`` (e.g. "test failed") zeroes the lab score;
    ``monitors`` (this run's column monitors, when lab.yaml has ``monitors:``) adds the lab part ``monitors``.
    """
    weights: QualityWeights = config.quality.weights
    rule = config.quality.volume
    ledger = _ledger_totals(con)
    fresh = {f.source: f.status for f in artifacts.freshness}

    tables: dict[str, QualityScore] = {}
    gold_keys: dict[str, float] = {}
    for relation in gold_tables:
        tested = [t for t in artifacts.tests if relation in t.models]
        required = sorted({t.column_name for t in tested if t.test_type == "not_null" and t.column_name})
        keys = sorted({t.column_name for t in tested if t.test_type == "unique" and t.column_name})
        facts = _table_facts(con, relation, required, keys)
        gold_keys.update({f"{relation}.{c}": v for c, v in facts.uniqueness.items()})
        upstream = artifacts.upstream_sources.get(relation, [])
        names = [s.split(".", 1)[-1] for s in upstream]
        loaded = sum(ledger.get(n, (0, 0))[0] for n in names)
        rejected = sum(ledger.get(n, (0, 0))[1] for n in names)
        tables[relation] = QualityScore(
            relation,
            [
                pass_rate_part(weights.tests, [t.status for t in tested]),
                validity_part(weights.validity, loaded, rejected),
                _columns_part("completeness", weights.completeness, facts.completeness, "required column(s)"),
                _columns_part("uniqueness", weights.uniqueness, facts.uniqueness, "key column(s)"),
                freshness_part(weights.freshness, {s: fresh[s] for s in upstream if s in fresh}),
                volume_part(weights.volume, facts.rows, previous_rows.get(relation, []), rule),
            ],
            threshold=None,
            row_count=facts.rows,
        )

    required_raw: dict[str, float] = {}
    for name, source in config.sources.items():
        cols = [c for c, spec in source.columns.items() if spec.required]
        if cols and name in ledger:
            facts = _table_facts(con, f"{RAW_SCHEMA}.{name}", cols, [])
            required_raw.update({f"{name}.{c}": v for c, v in facts.completeness.items()})
    loaded = sum(v[0] for v in ledger.values())
    new_rows, increments = ledger_increments(con, run_id, rule.window)
    if config.sources:
        volume = volume_part(
            weights.volume, loaded, previous_rows.get("lab", []), rule, new_rows=new_rows, increments=increments
        )
    else:  # an adopted dbt project that declares no source: there is no raw table to count
        volume = QualityPart("volume", weights.volume, None, "no sources declared in lab.yaml")
    lab = QualityScore(
        "lab",
        [
            pass_rate_part(weights.tests, [t.status for t in artifacts.tests]),
            validity_part(weights.validity, loaded, sum(v[1] for v in ledger.values())),
            _columns_part("completeness", weights.completeness, required_raw, "required raw column(s)"),
            _columns_part("uniqueness", weights.uniqueness, gold_keys, "gold key column(s)"),
            freshness_part(weights.freshness, fresh),
            volume,
            *([monitors_part(config.monitors.weight, monitors)] if monitors is not None and config.monitors else []),
        ],
        threshold=config.quality.min_score,
        row_count=loaded,
        tables=tables,
        gate=gate,
    )
    return lab
