"""Lab 3's clusters: features, silhouettes, the choice of k, numbering and stability.

The features (log1p then standardise) and the silhouette of every k's labels are recomputed with
numpy from gold's measures; the choice of k is re-derived from the rule in docs/lab3-segments.md;
stability is measured here with seeds and subsamples the model never used.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from rfm_recompute import scaled_features, silhouette

MIN_STABILITY = 0.9  # the model's own bar, docs/lab3-segments.md
SILHOUETTE_TOLERANCE = 0.03


@pytest.fixture(scope="module")
def tables(lab_db: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(lab_db), read_only=True) as con:
        return {
            "customers": con.execute("select * from gold.customer_segments").df().set_index("customer_id"),
            "all_k": con.execute("select customer_id, k, cluster from silver.int_customer_clusters").df(),
            "choice": con.execute("select * from gold.cluster_k_choice order by k").df(),
            "summary": con.execute("select * from gold.cluster_summary order by cluster").df(),
        }


def _x(customers: pd.DataFrame) -> np.ndarray:
    return scaled_features(
        customers["recency_days"].to_numpy(float),
        customers["frequency"].to_numpy(float),
        customers["monetary"].astype(float).to_numpy(),
    )


def test_every_k_silhouette_matches_a_numpy_recomputation(tables: dict[str, pd.DataFrame]) -> None:
    customers = tables["customers"].sort_index()
    x = _x(customers)
    for row in tables["choice"].itertuples():
        labels = tables["all_k"][tables["all_k"]["k"] == row.k].set_index("customer_id").loc[customers.index]
        assert labels["cluster"].nunique() == row.k
        assert silhouette(x, labels["cluster"].to_numpy()) == pytest.approx(row.silhouette, abs=1e-5), row.k


def test_chosen_k_follows_the_documented_rule(tables: dict[str, pd.DataFrame]) -> None:
    choice = tables["choice"]
    assert list(choice["k"]) == [2, 3, 4, 5, 6]
    assert choice["chosen"].sum() == 1
    stable = choice[choice["stability_ari"] >= MIN_STABILITY]
    assert len(stable), choice
    near = stable[stable["silhouette"] >= stable["silhouette"].max() - SILHOUETTE_TOLERANCE]
    chosen = choice[choice["chosen"]].iloc[0]
    assert chosen["k"] == near["k"].max()
    assert "stable" in chosen["reason"] and "silhouette" in chosen["reason"]
    assert set(tables["customers"]["cluster"]) == set(range(1, int(chosen["k"]) + 1))


def test_clusters_numbered_by_spend_and_summary_adds_up(tables: dict[str, pd.DataFrame]) -> None:
    customers, summary = tables["customers"], tables["summary"]
    counts = customers["cluster"].value_counts().sort_index()
    assert list(summary["cluster"]) == list(counts.index)
    assert list(summary["customers"]) == list(counts)
    spend = customers.assign(m=customers["monetary"].astype(float)).groupby("cluster")["m"].mean()
    assert list(spend.index) == list(spend.sort_values(ascending=False).index), "cluster 1 spends most"
    assert summary["avg_monetary"].to_numpy() == pytest.approx(spend.round(2).to_numpy(), abs=0.006)


def test_clusters_are_stable_across_seeds_and_subsamples(
    tables: dict[str, pd.DataFrame], capsys: pytest.CaptureFixture[str]
) -> None:
    """Refit the chosen k with 5 new seeds on random 80% subsamples: mean ARI against gold >= 0.9, worst >= 0.8."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    customers = tables["customers"].sort_index()
    x, labels = _x(customers), customers["cluster"].to_numpy()
    k = len(np.unique(labels))
    rng = np.random.default_rng(12345)
    scores = []
    for seed in range(101, 106):
        rows = rng.choice(len(x), size=int(0.8 * len(x)), replace=False)
        refit = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(x[rows])
        scores.append(adjusted_rand_score(labels[rows], refit))
    with capsys.disabled():
        print(f"\n[lab3] stability of k={k}: ARI {np.round(scores, 3).tolist()}, mean {np.mean(scores):.3f}")
    assert np.mean(scores) >= 0.9, scores
    assert min(scores) >= 0.8, scores


def test_stability_is_flagged_per_k_and_on_the_shipped_clusters(tables: dict[str, pd.DataFrame]) -> None:
    """is_stable says whether a k reached the bar; cluster_summary carries the chosen k's flag and the
    label the report draws, so an unstable clustering is never shipped with only a number as a warning."""
    choice, summary = tables["choice"], tables["summary"]
    assert (choice["is_stable"] == (choice["stability_ari"] >= MIN_STABILITY)).all()
    chosen = choice[choice["chosen"]].iloc[0]
    assert (summary["is_stable"] == chosen["is_stable"]).all()
    suffix = "" if chosen["is_stable"] else " (UNSTABLE clustering)"
    assert list(summary["cluster_label"]) == [f"cluster {c}{suffix}" for c in summary["cluster"]]
