"""Lab 3's gold tables against an independent computation from the raw CSVs.

RFM measures, quintile scores (numbered like SQL ntile: the first n % 5 buckets get one extra
row), the segment grid, and the per-segment summary are recomputed here with csv + Decimal.
For the clustering, the features are standardised with numpy and the silhouette of the gold
labels is computed by hand (no scikit-learn); k-means is refitted with scikit-learn only to check
that the chosen k is the one with the best silhouette.

Fixtures ``lab_db`` and ``raw_dir`` come from conftest.py (one pipeline run per session).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pytest

SEGMENTS = [  # (name, rule on r and f), first match wins - the business grid of the lab
    ("champions", lambda r, f: r >= 4 and f >= 4),
    ("loyal_customers", lambda r, f: r == 3 and f >= 4),
    ("potential_loyalists", lambda r, f: r >= 4 and f >= 2),
    ("new_customers", lambda r, f: r >= 4),
    ("needs_attention", lambda r, f: r == 3),
    ("cannot_lose_them", lambda r, f: f == 5),
    ("at_risk", lambda r, f: f >= 3),
    ("hibernating", lambda r, f: True),
]


def _ntile(order: list[str], buckets: int = 5) -> dict[str, int]:
    size, extra = divmod(len(order), buckets)
    out, i = {}, 0
    for bucket in range(1, buckets + 1):
        take = size + (1 if bucket <= extra else 0)
        for key in order[i : i + take]:
            out[key] = bucket
        i += take
    return out


@pytest.fixture(scope="module")
def expected(raw_dir: Path) -> dict[str, dict[str, object]]:
    """customer_id → recency_days, frequency, monetary, scores and segment, from the CSVs."""
    last: dict[str, dt.date] = {}
    frequency: dict[str, int] = defaultdict(int)
    monetary: dict[str, Decimal] = defaultdict(Decimal)
    for path in sorted(raw_dir.glob("transactions_*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                day = dt.date.fromisoformat(row["txn_date"])
                cid = row["customer_id"]
                last[cid] = max(last.get(cid, day), day)
                frequency[cid] += 1
                monetary[cid] += Decimal(row["amount"])
    as_of = max(last.values()) + dt.timedelta(days=1)
    recency = {c: (as_of - d).days for c, d in last.items()}
    r = _ntile(sorted(recency, key=lambda c: (-recency[c], c)))
    f = _ntile(sorted(frequency, key=lambda c: (frequency[c], c)))
    m = _ntile(sorted(monetary, key=lambda c: (monetary[c], c)))
    return {
        c: {
            "recency_days": recency[c],
            "frequency": frequency[c],
            "monetary": monetary[c],
            "r": r[c],
            "f": f[c],
            "m": m[c],
            "segment": next(name for name, rule in SEGMENTS if rule(r[c], f[c])),
        }
        for c in last
    }


@pytest.fixture(scope="module")
def gold(lab_db: Path) -> dict[str, tuple]:
    with duckdb.connect(str(lab_db), read_only=True) as con:
        rows = con.execute(
            "select customer_id, recency_days, frequency, monetary, r_score, f_score, m_score, segment, cluster "
            "from gold.customer_segments"
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_rfm_scores_and_segments_match(gold: dict[str, tuple], expected: dict[str, dict[str, object]]) -> None:
    assert set(gold) == set(expected)
    for cid, e in expected.items():
        recency, freq, money, r, f, m, segment, _ = gold[cid]
        assert (recency, freq, money) == (e["recency_days"], e["frequency"], e["monetary"]), cid
        assert (r, f, m, segment) == (e["r"], e["f"], e["m"], e["segment"]), cid


def test_segment_summary_matches(lab_db: Path, expected: dict[str, dict[str, object]]) -> None:
    by_segment: dict[str, list[dict[str, object]]] = defaultdict(list)
    for e in expected.values():
        by_segment[str(e["segment"])].append(e)
    total_revenue = sum(Decimal(e["monetary"]) for e in expected.values())  # type: ignore[arg-type]
    with duckdb.connect(str(lab_db), read_only=True) as con:
        rows = con.execute(
            "select segment, customers, share_of_customers, revenue, share_of_revenue from gold.segment_summary"
        ).fetchall()
    assert {row[0] for row in rows} == set(by_segment)
    assert {"champions", "at_risk", "hibernating"} <= set(by_segment)
    for segment, customers, share, revenue, revenue_share in rows:
        members = by_segment[segment]
        assert customers == len(members)
        assert share == pytest.approx(len(members) / len(expected), abs=5e-5)
        assert revenue == sum(Decimal(e["monetary"]) for e in members)  # type: ignore[arg-type]
        assert revenue_share == pytest.approx(float(revenue / total_revenue), abs=5e-5)


def _features(gold: dict[str, tuple], ids: list[str]) -> np.ndarray:
    raw = np.array([[gold[c][0], np.log1p(gold[c][1]), np.log1p(float(gold[c][2]))] for c in ids], dtype=float)
    return (raw - raw.mean(axis=0)) / raw.std(axis=0)


def _silhouette(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette coefficient, computed from the full distance matrix."""
    d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=2))
    clusters = np.unique(labels)
    mean_to = np.stack([d[:, labels == c].sum(axis=1) for c in clusters], axis=1)
    sizes = np.array([(labels == c).sum() for c in clusters], dtype=float)
    own = np.searchsorted(clusters, labels)
    a = mean_to[np.arange(len(x)), own] / np.maximum(sizes[own] - 1, 1)
    others = mean_to / sizes
    others[np.arange(len(x)), own] = np.inf
    b = others.min(axis=1)
    return float(np.mean((b - a) / np.maximum(a, b)))


def test_clusters_silhouette_and_numbering(lab_db: Path, gold: dict[str, tuple]) -> None:
    ids = sorted(gold)
    x = _features(gold, ids)
    labels = np.array([gold[c][7] for c in ids])
    with duckdb.connect(str(lab_db), read_only=True) as con:
        summary = con.execute(
            "select cluster, customers, avg_monetary, k, silhouette from gold.cluster_summary order by cluster"
        ).fetchall()
    k, silhouette = summary[0][3], summary[0][4]
    assert [row[0] for row in summary] == list(range(1, k + 1))
    assert [row[1] for row in summary] == [int((labels == c).sum()) for c in range(1, k + 1)]
    spend = [row[2] for row in summary]
    assert spend == sorted(spend, reverse=True), "cluster 1 must have the highest mean spend"
    assert _silhouette(x, labels) == pytest.approx(silhouette, abs=1e-6)

    from sklearn.cluster import KMeans

    tried = {n: _silhouette(x, KMeans(n_clusters=n, n_init=10, random_state=0).fit_predict(x)) for n in range(2, 7)}
    assert k == max(tried, key=lambda n: (tried[n], -n)), tried


def test_this_venv_has_scikit_learn_but_not_lab2s_statsmodels() -> None:
    """Each lab's venv holds its own dependencies only (this suite runs in lab 3's venv or tox env)."""
    import importlib.util

    assert importlib.util.find_spec("sklearn") is not None
    assert importlib.util.find_spec("statsmodels") is None
