"""k-means clusters of customers on scaled RFM features, k chosen by silhouette (scikit-learn).

Features: recency_days, log(1 + frequency), log(1 + monetary), standardised. For every k in
K_RANGE, k-means (fixed seed) is fitted and scored by the silhouette coefficient; the k with the
highest silhouette wins. Clusters are numbered 1..k by decreasing mean spend, so cluster 1 is
always the most valuable whatever order k-means found them in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

K_RANGE = range(2, 7)
SEED = 0


def features(rfm: pd.DataFrame) -> np.ndarray:
    """Scaled feature matrix, one row per customer."""
    raw = np.column_stack(
        [
            rfm["recency_days"].to_numpy(float),
            np.log1p(rfm["frequency"].to_numpy(float)),
            np.log1p(rfm["monetary"].to_numpy(float)),
        ]
    )
    return StandardScaler().fit_transform(raw)


def model(dbt, session):
    dbt.config(materialized="table")
    rfm = dbt.ref("int_customer_rfm").df().sort_values("customer_id").reset_index(drop=True)
    x = features(rfm)
    scores = {}
    labels = {}
    for k in K_RANGE:
        labels[k] = KMeans(n_clusters=k, n_init=10, random_state=SEED).fit_predict(x)
        scores[k] = float(silhouette_score(x, labels[k]))
    best = max(scores, key=lambda k: (scores[k], -k))
    spend = rfm.groupby(labels[best])["monetary"].mean().sort_values(ascending=False)
    number = {cluster: i + 1 for i, cluster in enumerate(spend.index)}
    return pd.DataFrame(
        {
            "customer_id": rfm["customer_id"],
            "cluster": [number[c] for c in labels[best]],
            "k": best,
            "silhouette": scores[best],
            "silhouettes": ", ".join(f"k={k}: {s:.4f}" for k, s in scores.items()),
        }
    )
