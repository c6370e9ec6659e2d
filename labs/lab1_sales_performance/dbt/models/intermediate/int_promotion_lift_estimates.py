"""Lift of each promotion against a weekday-matched baseline, with a bootstrap interval over days.

Two levels, one method: ``chain`` (the SKU's units over all stores, int_promotion_lift_days) and
``store`` (one store's units, int_promotion_store_lift_days, only where has_enough_data).

Estimate (per promotion, or per promotion and store):
  promo mean     A = mean units over the promo days
  baseline       B = mean over the promo days d of m[weekday(d)], where m[w] = mean units over the
                     baseline days with weekday w (the baseline has the promo days' weekday mix)
  lift_pct       = (A / B - 1) * 100; null when a promo weekday has no baseline day or B = 0.

Interval: percentile bootstrap over days, RESAMPLES resamples. Each resample draws the promo days
with replacement and, within each weekday, the baseline days with replacement, then applies the
same estimate (the weekday mix of the resampled promo days sets the baseline). The generator is
numpy's default_rng(SeedSequence([SEED, crc32(promo_id)])), plus crc32(store_id) at the end of
that list for a store: an interval depends only on its own days, never on the others or on row
order. Draw order: the promo-day indices
(RESAMPLES x n_promo), then per weekday 1..7 that has baseline days the baseline indices
(RESAMPLES x n_w); days sorted by date. Bounds: numpy.quantile (linear) at (1 -+ LEVEL) / 2.

Reuse: a row depends only on its own days and on this method, so each row carries
``days_fingerprint`` (a hash of its level, promotion, store, days and METHOD_KEY) and a build copies
the previous build's row when the fingerprint is the same instead of bootstrapping again (not on a
--full-refresh run: config reuse_previous_rows). A new month of sales changes the days of the few
promotions near it; the others are copied (docs/incremental.md#the-promotion-lift-estimates).
"""

from __future__ import annotations

import hashlib
import types
import zlib

import duckdb
import numpy as np
import pandas as pd

RESAMPLES = 2000
SEED = 20260101
LEVEL = 0.95
COLUMNS = [
    "level",
    "promo_id",
    "store_id",
    "promo_days_used",
    "baseline_days",
    "avg_daily_units_during_promo",
    "baseline_daily_units",
    "lift_pct",
    "lift_low_pct",
    "lift_high_pct",
    "interval_level",
    "days_fingerprint",
]
DAY_COLUMNS = ["sale_date", "day_role", "iso_weekday", "units"]


def estimate(promo_units: np.ndarray, promo_weekday: np.ndarray, base: dict[int, np.ndarray]) -> tuple:
    """(A, B, lift_pct) for one set of days; B and lift are None without a full weekday baseline."""
    a = float(promo_units.mean())
    if not set(promo_weekday.tolist()) <= set(base):
        return a, None, None
    b = float(np.mean([base[w].mean() for w in promo_weekday]))
    return a, b, ((a / b - 1) * 100 if b > 0 else None)


def bootstrap(key: list[int], promo_units: np.ndarray, promo_weekday: np.ndarray, base: dict[int, np.ndarray]) -> tuple:
    """(low, high) percentile bounds of lift_pct over RESAMPLES resamples of the days.

    A resample whose baseline is 0 has an infinite (or, with no promo units either, undefined)
    lift: the bound it reaches is infinite, or null when undefined.
    """
    rng = np.random.default_rng(np.random.SeedSequence([SEED, *key]))
    n = len(promo_units)
    picks = rng.integers(0, n, size=(RESAMPLES, n))
    weekday_means = np.full((RESAMPLES, 8), np.nan)  # column w = resampled baseline mean of weekday w
    for w in sorted(base):
        days = base[w]
        weekday_means[:, w] = days[rng.integers(0, len(days), size=(RESAMPLES, len(days)))].mean(axis=1)
    a = promo_units[picks].mean(axis=1)
    b = np.take_along_axis(weekday_means, promo_weekday[picks], axis=1).mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero baseline: inf, or nan with no units either
        lifts = (a / b - 1) * 100
        low, high = np.quantile(lifts, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return tuple(None if np.isnan(bound) else float(bound) for bound in (low, high))


def _code_parts(code: types.CodeType) -> list[str]:
    """A code object's bytecode, names and constants, nested code objects included (no addresses)."""
    parts = [code.co_code.hex(), repr(code.co_names)]
    for const in code.co_consts:
        parts += _code_parts(const) if isinstance(const, types.CodeType) else [repr(const)]
    return parts


def _method_key() -> str:
    """What every estimate depends on besides its days: settings, numpy, and the code of this method."""
    parts = [str(RESAMPLES), str(SEED), str(LEVEL), np.__version__]
    for function in (estimate, bootstrap, one_promotion):
        parts += _code_parts(function.__code__)
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def with_day_hashes(days: pd.DataFrame) -> pd.DataFrame:
    """``days`` with a ``day_hash`` per row (of DAY_COLUMNS), hashed once for every group at a time."""
    return days.assign(day_hash=pd.util.hash_pandas_object(days[DAY_COLUMNS], index=False).to_numpy())


def fingerprint(key: list[str | None], days: pd.DataFrame, method_key: str) -> str:
    """A hash of one row's identity, its days (in date order, with their ``day_hash``) and the method."""
    digest = hashlib.sha256(repr([*key, method_key]).encode())
    digest.update(days["day_hash"].to_numpy().tobytes())
    return digest.hexdigest()


def previous_rows(session: duckdb.DuckDBPyConnection, this: object) -> dict[str, dict]:
    """The previous build's rows by days_fingerprint (none on a first build or from an older version)."""
    try:
        frame = session.sql(f"select * from {this}").df()
    except duckdb.Error:  # no previous build
        return {}
    if "days_fingerprint" not in frame.columns:
        return {}
    frame = frame.astype(object).where(frame.notna(), None)
    return {row["days_fingerprint"]: row for row in frame[COLUMNS].to_dict("records")}


def one_promotion(promo_id: str, days: pd.DataFrame, store_id: str | None = None) -> dict:
    """The estimate row of one promotion (in one store, when given) from its days (sorted by date)."""
    promo = days[days["day_role"] == "promo"]
    baseline = days[days["day_role"] == "baseline"]
    base = {int(w): g["units"].to_numpy(float) for w, g in baseline.groupby("iso_weekday", sort=True)}
    row = dict.fromkeys(COLUMNS)
    row.update(level="chain" if store_id is None else "store", promo_id=promo_id, store_id=store_id)
    row.update(promo_days_used=len(promo), baseline_days=len(baseline), interval_level=LEVEL)
    if promo.empty:
        return row
    units = promo["units"].to_numpy(float)
    weekday = promo["iso_weekday"].to_numpy(int)
    a, b, lift = estimate(units, weekday, base)
    row.update(avg_daily_units_during_promo=a, baseline_daily_units=b, lift_pct=lift)
    if lift is not None:
        key = [zlib.crc32(promo_id.encode())] + ([] if store_id is None else [zlib.crc32(store_id.encode())])
        row["lift_low_pct"], row["lift_high_pct"] = bootstrap(key, units, weekday, base)
    return row


def model(dbt, session):
    dbt.config(materialized="table")
    reuse = str(dbt.config.get("reuse_previous_rows", True)) == "True"  # False on a --full-refresh run
    method_key, previous = _method_key(), (previous_rows(session, dbt.this) if reuse else {})
    reused = 0

    def row(promo_id: str, days: pd.DataFrame, store_id: str | None = None) -> dict:
        nonlocal reused
        level = "chain" if store_id is None else "store"
        key = fingerprint([level, promo_id, store_id], days, method_key)
        if key in previous:
            reused += 1
            return previous[key]
        return {**one_promotion(promo_id, days, store_id), "days_fingerprint": key}

    chain = with_day_hashes(dbt.ref("int_promotion_lift_days").df().sort_values(["promo_id", "sale_date"]))
    rows = [row(str(promo_id), group) for promo_id, group in chain.groupby("promo_id", sort=True)]
    stores = dbt.ref("int_promotion_store_lift_days").df()
    stores = with_day_hashes(stores[stores["has_enough_data"]].sort_values(["promo_id", "store_id", "sale_date"]))
    rows += [
        row(str(promo_id), group, str(store_id))
        for (promo_id, store_id), group in stores.groupby(["promo_id", "store_id"], sort=True)
    ]
    print(f"int_promotion_lift_estimates: {len(rows) - reused} estimated, {reused} copied (same days)", flush=True)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype(
        {
            "promo_days_used": "int64",
            "baseline_days": "int64",
            **{c: "float64" for c in COLUMNS[5:] if c != "days_fingerprint"},
            "days_fingerprint": "str",
        }
    )
