"""k-means clusters of customers for every k tried, with each k's silhouette and stability (scikit-learn).

Features: log(1 + recency_days), log(1 + frequency), log(1 + monetary), each standardised. The log
takes the skew out of the three measures (a few heavy buyers would otherwise stretch one axis and
dominate the distances). Rows are ordered by their feature values before fitting, so the result never
depends on customer ids or file row order: equal customers are interchangeable.

For every k in K_RANGE: k-means on all customers (fixed seed) gives the labels and the silhouette;
stability is the mean adjusted Rand index between those labels and k-means refitted with another seed
on a random 80% of the customers (STABILITY_RUNS runs). The chosen k has the best silhouette among
the stable ones (stability >= MIN_STABILITY) is the reference; the chosen k is the largest stable k
whose silhouette is within SILHOUETTE_TOLERANCE of it. The silhouette favours a few big groups (on the
sample, k=2 splits active from lapsed customers and puts the at-risk ones with the champions); a
segmentation is useful when it separates as many behaviours as the data holds apart nearly as well.
If no k is stable, the most stable k is kept and flagged (is_stable false, in gold and in the report):
its clusters may change with a new seed or a few more customers, so they are no basis for a decision.
Clusters are numbered 1..k by decreasing mean spend, so cluster 1 is always the most valuable.
k-means runs on one thread: the data are small, and OpenMP threads on a busy machine made each fit
up to 100x slower. One row per (customer, k): gold takes the chosen k for customers and every k for
the k-choice table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

K_RANGE = range(2, 7)
SEED = 0
STABILITY_RUNS = 5
SUBSAMPLE = 0.8
MIN_STABILITY = 0.9
SILHOUETTE_TOLERANCE = 0.03
FEATURES = ["recency_days", "frequency", "monetary"]


def features(rfm: pd.DataFrame) -> np.ndarray:
    """Standardised log1p features, one row per customer (in the frame's row order)."""
    return StandardScaler().fit_transform(np.log1p(rfm[FEATURES].to_numpy(float)))


def fit(x: np.ndarray, k: int, seed: int) -> np.ndarray:
    """k-means labels of the rows of x."""
    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(x)


def stability(x: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Mean ARI between ``labels`` and refits on 80% subsamples with other seeds."""
    scores = []
    for run in range(1, STABILITY_RUNS + 1):
        rows = np.random.default_rng(run).choice(len(x), size=int(SUBSAMPLE * len(x)), replace=False)
        scores.append(adjusted_rand_score(labels[rows], fit(x[rows], k, seed=run)))
    return float(np.mean(scores))


def choose(scores: pd.DataFrame) -> tuple[int, str]:
    """The chosen k and why, from a frame with columns k, silhouette, stability_ari."""
    stable = scores[scores["stability_ari"] >= MIN_STABILITY]
    if not len(stable):
        best = scores.sort_values(["stability_ari", "k"], ascending=[False, True]).iloc[0]
        return int(best["k"]), (
            f"no k reached stability {MIN_STABILITY}: the most stable k (ARI {best['stability_ari']:.3f}) is kept"
        )
    top = stable["silhouette"].max()
    near = stable[stable["silhouette"] >= top - SILHOUETTE_TOLERANCE]
    best = near.sort_values("k").iloc[-1]
    return int(best["k"]), (
        f"largest k whose clusters are stable (ARI {best['stability_ari']:.3f} >= {MIN_STABILITY} over "
        f"{STABILITY_RUNS} refits on {SUBSAMPLE:.0%} subsamples) and whose silhouette ({best['silhouette']:.3f}) "
        f"is within {SILHOUETTE_TOLERANCE} of the best stable one ({top:.3f})"
    )


def model(dbt, session):
    dbt.config(materialized="table")
    rfm = dbt.ref("int_customer_rfm").df()
    rfm = rfm.sort_values(FEATURES, kind="stable").reset_index(drop=True)  # by value, never by id
    x = features(rfm)
    labels, rows = {}, []
    with threadpool_limits(1):
        for k in K_RANGE:
            labels[k] = fit(x, k, SEED)
            silhouette = float(silhouette_score(x, labels[k]))
            rows.append({"k": k, "silhouette": silhouette, "stability_ari": stability(x, labels[k], k)})
    scores = pd.DataFrame(rows)
    chosen, reason = choose(scores)
    frames = []
    for k in K_RANGE:
        spend = rfm["monetary"].astype(float).groupby(labels[k]).mean().sort_values(ascending=False, kind="stable")
        number = {cluster: i + 1 for i, cluster in enumerate(spend.index)}
        score = scores.set_index("k").loc[k]
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": rfm["customer_id"],
                    "k": k,
                    "cluster": [number[c] for c in labels[k]],
                    "silhouette": score["silhouette"],
                    "stability_ari": score["stability_ari"],
                    "is_stable": bool(score["stability_ari"] >= MIN_STABILITY),
                    "chosen": k == chosen,
                    "reason": reason if k == chosen else None,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
