"""Lab 3's numbers recomputed from the raw CSV files with pandas and numpy, independently of dbt.

The rules follow docs/lab3-segments.md: tie-aware quintile scores (the quintile of a tie group's
average rank), the date-information checks, and the segment rules.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

NEW_CUSTOMER_DAYS = 90
MIN_SHARE_AWAY = 0.10
ACTIVE_WITHIN_DAYS = 365  # lab.yaml segments.active_within_days
SEGMENTS = ["new_customers", "champions", "loyal_customers", "at_risk", "hibernating", "occasional"]


def read_transactions(raw_dir: Path) -> pd.DataFrame:
    """Every transactions_*.csv, amounts as Decimal (exact sums)."""
    frames = [
        pd.read_csv(path, dtype={"customer_id": str, "transaction_id": str}, converters={"amount": Decimal})
        for path in sorted(raw_dir.glob("transactions_*.csv"))
    ]
    out = pd.concat(frames, ignore_index=True)
    out["txn_date"] = pd.to_datetime(out["txn_date"])
    return out


def quintile(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """Score 1-5: ceil(5 * average rank / n); equal values share their group's average rank."""
    ranks = (values if higher_is_better else -values).rank(method="average")
    return np.ceil(5 * ranks / len(values)).astype(int)


def date_information(measures: pd.DataFrame) -> dict[str, object]:
    """Typical gap, share away beyond it, and whether recency is scored / tenure is used."""
    gaps = (measures["last_purchase"] - measures["first_purchase"]).dt.days / (measures["frequency"] - 1)
    typical_gap = gaps[measures["frequency"] > 1].median()
    share_away = float((measures["recency_days"] > typical_gap).mean()) if pd.notna(typical_gap) else None
    values = measures["recency_days"].nunique()
    span = (measures["as_of_date"].iloc[0] - measures["first_purchase"].min()).days
    return {
        "typical_gap_days": typical_gap,
        "share_away_beyond_gap": share_away,
        "recency_values": values,
        "recency_scored": values >= 5 and (share_away is None or share_away >= MIN_SHARE_AWAY),
        "tenure_used": span >= 2 * NEW_CUSTOMER_DAYS,
    }


def segment(
    r: pd.Series,
    f: pd.Series,
    m: pd.Series,
    tenure: pd.Series,
    tenure_used: bool,
    recency: pd.Series,
    active_within_days: float = ACTIVE_WITHIN_DAYS,
) -> pd.Series:
    """The segment rules, first match wins; a missing r counts as recent (5), and a customer away
    longer than ``active_within_days`` counts as long lapsed (1) whatever the quintile."""
    r = r.fillna(5).where(recency <= active_within_days, 1)
    new = (tenure <= NEW_CUSTOMER_DAYS) & tenure_used
    rules = [
        new,
        (r >= 4) & (f == 5),
        (r >= 3) & ((f >= 4) | (m >= 4)),
        (r <= 2) & (f >= 3),
        r == 1,
    ]
    return pd.Series(np.select(rules, SEGMENTS[:-1], default=SEGMENTS[-1]), index=r.index)


def expected_customers(
    raw_dir: Path, active_within_days: float = ACTIVE_WITHIN_DAYS
) -> tuple[pd.DataFrame, dict[str, object]]:
    """Per customer (index customer_id): measures, scores and segment; plus the date information."""
    txn = read_transactions(raw_dir)
    grouped = txn.groupby("customer_id")
    measures = pd.DataFrame(
        {
            "first_purchase": grouped["txn_date"].min(),
            "last_purchase": grouped["txn_date"].max(),
            "frequency": grouped.size(),
            "monetary": grouped["amount"].apply(lambda s: sum(s, Decimal(0))),
        }
    )
    measures["as_of_date"] = txn["txn_date"].max() + pd.Timedelta(days=1)
    measures["recency_days"] = (measures["as_of_date"] - measures["last_purchase"]).dt.days
    measures["tenure_days"] = (measures["as_of_date"] - measures["first_purchase"]).dt.days
    info = date_information(measures)
    measures["r_score"] = quintile(measures["recency_days"], higher_is_better=False) if info["recency_scored"] else None
    measures["r_score"] = measures["r_score"].astype("Int64")
    measures["f_score"] = quintile(measures["frequency"])
    measures["m_score"] = quintile(measures["monetary"].astype(float))
    measures["segment"] = segment(
        measures["r_score"].astype(float),
        measures["f_score"],
        measures["m_score"],
        measures["tenure_days"],
        bool(info["tenure_used"]),
        measures["recency_days"],
        active_within_days,
    )
    return measures, info


def scaled_features(recency: np.ndarray, frequency: np.ndarray, monetary: np.ndarray) -> np.ndarray:
    """log1p of the three measures, each standardised (population standard deviation)."""
    raw = np.log1p(np.column_stack([recency, frequency, monetary]).astype(float))
    std = raw.std(axis=0)
    return (raw - raw.mean(axis=0)) / np.where(std > 0, std, 1.0)


def silhouette(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette coefficient from the full distance matrix (no scikit-learn)."""
    d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=2))
    clusters = np.unique(labels)
    mean_to = np.stack([d[:, labels == c].sum(axis=1) for c in clusters], axis=1)
    sizes = np.array([(labels == c).sum() for c in clusters], dtype=float)
    own = np.searchsorted(clusters, labels)
    a = mean_to[np.arange(len(x)), own] / np.maximum(sizes[own] - 1, 1)
    others = mean_to / sizes
    others[np.arange(len(x)), own] = np.inf
    b = others.min(axis=1)
    s = (b - a) / np.maximum(a, b)
    s[sizes[own] == 1] = 0.0  # a singleton's silhouette is 0 by convention
    return float(np.mean(s))
