"""gold.promotion_lift and gold.promotion_lift_by_store: equal to an independent pandas/numpy
computation from the CSVs, and honest against the generator's truth (tests/fixtures/promotion_truth.csv).

The rules recomputed here, on their own terms (docs/lab1-sales.md):

* daily units of a SKU = units of its clean lines (test_gold_values.compute_expected) per day,
  every day from the first to the last clean sale_date, 0 on a day without a sale;
* promo days = the promotion's days inside that period; baseline days = days of the SKU within 42
  days of the promotion, outside every promotion of the SKU widened by 7 days on each side;
* baseline = per weekday mean of the baseline days, averaged over the promo days' weekdays;
  lift = (mean promo units / baseline - 1) * 100;
* interval = percentile bootstrap following the draw protocol documented in
  int_promotion_lift_estimates.py (the protocol is the spec; the code here is separate);
* per store: the same days restricted to the store's open days, the store's own units, and an
  estimate only with at least 30 sales lines on the baseline days (else too_sparse).
"""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from buildcpg_shared.testing import copy_lab, run_lab_dir
from test_gold_values import Expected, compute_expected

LAB_DIR = Path(__file__).resolve().parents[1]
TRUTH = LAB_DIR / "tests" / "fixtures" / "promotion_truth.csv"
GENERATOR = LAB_DIR.parents[1] / "tools" / "generate_sales.py"
WINDOW, GUARD_BEFORE, GUARD_AFTER = 42, 7, 7
RESAMPLES, SEED, LEVEL = 2000, 20260101, 0.95
MIN_STORE_BASELINE_LINES = 30


def clean_lines(expected: Expected) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    """The clean lines as a frame, and every day of the observed period."""
    lines = pd.DataFrame(
        [(line.store_id, line.sku, pd.Timestamp(line.sale_date), line.units) for line in expected.clean],
        columns=["store_id", "sku", "day", "units"],
    )
    return lines, pd.date_range(lines["day"].min(), lines["day"].max(), freq="D")


def promotions_frame(expected: Expected) -> pd.DataFrame:
    promos = pd.DataFrame(expected.promotions.values())
    promos["start"] = pd.to_datetime(promos["start_date"])
    promos["end"] = pd.to_datetime(promos["end_date"])
    return promos


def day_masks(p: Any, promos: pd.DataFrame, days: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """(promo days, baseline days) of promotion ``p`` among ``days``."""
    in_promo = (days >= p.start) & (days <= p.end)
    guarded = np.zeros(len(days), dtype=bool)
    for q in promos[promos["sku"] == p.sku].itertuples():
        before, after = q.start - pd.Timedelta(days=GUARD_BEFORE), q.end + pd.Timedelta(days=GUARD_AFTER)
        guarded |= (days >= before) & (days <= after)
    near = (days >= p.start - pd.Timedelta(days=WINDOW)) & (days <= p.end + pd.Timedelta(days=WINDOW))
    return np.asarray(in_promo), np.asarray(near & ~guarded)


def measure(
    key: list[int],
    units: np.ndarray,
    weekday: np.ndarray,
    in_promo: np.ndarray,
    in_base: np.ndarray,
    *,
    interval: bool = True,
) -> dict:
    """Day counts, means, baseline, lift and (with ``interval``) its bootstrap bounds."""
    promo_units, promo_weekday = units[in_promo], weekday[in_promo]
    base_units, base_weekday = units[in_base], weekday[in_base]
    by_weekday = {w: base_units[base_weekday == w] for w in range(1, 8) if (base_weekday == w).any()}
    row = dict.fromkeys(("avg", "baseline", "lift", "low", "high"))
    row.update(observed_promo_days=len(promo_units), baseline_days=len(base_units))
    if len(promo_units):
        row["avg"] = promo_units.mean()
    if len(promo_units) and set(promo_weekday) <= set(by_weekday):
        row["baseline"] = np.mean([by_weekday[w].mean() for w in promo_weekday])
        if row["baseline"] > 0:
            row["lift"] = (row["avg"] / row["baseline"] - 1) * 100
            if interval:
                row["low"], row["high"] = bootstrap_interval(key, promo_units, promo_weekday, by_weekday)
    return row


def recompute(expected: Expected) -> dict[str, dict]:
    """The promotion_lift row of every promotion, from the CSVs."""
    lines, days = clean_lines(expected)
    units = lines.pivot_table(index="day", columns="sku", values="units", aggfunc="sum", fill_value=0)
    units = units.reindex(index=days, columns=sorted(expected.products), fill_value=0)
    weekday = days.isocalendar().day.to_numpy(int)
    promos = promotions_frame(expected)
    recorded = pd.Series([line.promo_id for line in expected.clean if line.promo_id]).value_counts()
    rows = {}
    for p in promos.itertuples():
        in_promo, in_base = day_masks(p, promos, days)
        row = measure([zlib.crc32(p.promo_id.encode())], units[p.sku].to_numpy(float), weekday, in_promo, in_base)
        row["promo_sales_lines"] = int(recorded.get(p.promo_id, 0))
        row["is_partially_observed"] = bool(p.start < days[0] or p.end > days[-1])
        rows[p.promo_id] = row
    return rows


def recompute_by_store(expected: Expected, chain_status: dict[str, str], reported: set) -> dict[tuple, dict]:
    """The promotion_lift_by_store rows; intervals only for the (promo, store) pairs in ``reported``."""
    lines, days = clean_lines(expected)
    per_day = lines.groupby(["store_id", "sku", "day"])["units"].agg(["sum", "count"])
    weekday = days.isocalendar().day.to_numpy(int)
    promos = promotions_frame(expected)
    carried = pd.Series([(ln.promo_id, ln.store_id) for ln in expected.clean if ln.promo_id]).value_counts()
    rows = {}
    for store_id, store in expected.stores.items():
        is_open = np.asarray(days >= pd.Timestamp(store["opened_date"] or "1900-01-01"))
        for p in promos.itertuples():
            in_promo, in_base = day_masks(p, promos, days)
            if not (is_open & (in_promo | in_base)).any():
                continue
            key = (p.promo_id, store_id)
            daily = per_day.loc[(store_id, p.sku)] if (store_id, p.sku) in per_day.index else per_day.iloc[:0]
            daily = daily.reindex(days, fill_value=0)
            crc = [zlib.crc32(p.promo_id.encode()), zlib.crc32(store_id.encode())]
            row = measure(
                crc,
                daily["sum"].to_numpy(float),
                weekday,
                in_promo & is_open,
                in_base & is_open,
                interval=key in reported,
            )
            row["promo_sales_lines"] = int(carried.get((p.promo_id, store_id), 0))  # lines carrying the id
            row["promo_day_sales_lines"] = int(daily["count"].to_numpy()[in_promo & is_open].sum())
            row["baseline_sales_lines"] = int(daily["count"].to_numpy()[in_base & is_open].sum())
            status = chain_status[p.promo_id]
            if status in ("not_observed", "not_recorded_by_till"):
                row["status"] = status
            elif row["observed_promo_days"] == 0:
                row["status"] = "not_observed"
            elif row["baseline_sales_lines"] < MIN_STORE_BASELINE_LINES:
                row["status"] = "too_sparse"
            elif row["lift"] is None:
                row["status"] = "no_baseline"
            else:
                row["status"] = status
            rows[key] = row
    return rows


def bootstrap_interval(key: list[int], promo: np.ndarray, weekday: np.ndarray, base: dict[int, np.ndarray]) -> tuple:
    """Percentile interval of the lift over resampled days (the documented draw protocol)."""
    rng = np.random.default_rng(np.random.SeedSequence([SEED, *key]))
    picks = rng.integers(0, len(promo), size=(RESAMPLES, len(promo)))
    resampled_base = {w: b[rng.integers(0, len(b), size=(RESAMPLES, len(b)))].mean(axis=1) for w, b in base.items()}
    lifts = np.empty(RESAMPLES)
    for r in range(RESAMPLES):  # one resample at a time: plain, and unlike the model's vectorised form
        mean_promo = promo[picks[r]].mean()
        mean_base = np.mean([resampled_base[w][r] for w in weekday[picks[r]]])
        lifts[r] = (mean_promo / mean_base - 1) * 100
    low, high = np.quantile(lifts, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return low, high


def same(got: float | None, want: float | None) -> bool:
    """Equal up to float rounding, or both null."""
    return (got is None and want is None) or (None not in (got, want) and got == pytest.approx(want, rel=1e-9))


def read_truth() -> dict[str, dict[str, str]]:
    with TRUTH.open(newline="", encoding="utf-8") as handle:
        return {row["promo_id"]: row for row in csv.DictReader(handle)}


def read_gold(lab_db: Path, table: str) -> list[dict]:
    with duckdb.connect(str(lab_db), read_only=True) as con:
        frame = con.execute(f"select * from gold.{table}").df()
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


@pytest.fixture
def gold(lab_db: Path) -> dict[str, dict]:
    return {row["promo_id"]: row for row in read_gold(lab_db, "promotion_lift")}


def test_gold_equals_an_independent_computation(gold: dict[str, dict], raw_dir: Path) -> None:
    want = recompute(compute_expected(Path(raw_dir)))
    assert set(gold) == set(want)
    for promo_id, w in want.items():
        g = gold[promo_id]
        for key in ("observed_promo_days", "baseline_days", "promo_sales_lines", "is_partially_observed"):
            assert g[key] == w[key], (promo_id, key)
        assert g["is_recorded_by_till"] == (w["promo_sales_lines"] > 0), promo_id
        shown = w if g["is_recorded_by_till"] else dict.fromkeys(("lift", "low", "high"))
        for column, value in [
            ("avg_daily_units_during_promo", w["avg"]),
            ("baseline_daily_units", w["baseline"]),
            ("lift_pct", shown["lift"]),
            ("lift_low_pct", shown["low"]),
            ("lift_high_pct", shown["high"]),
        ]:
            assert same(g[column], value), (promo_id, column, g[column], value)
    statuses = {g["lift_status"] for g in gold.values()}
    assert {"measured", "partially_observed", "not_recorded_by_till"} <= statuses  # the sample shows each case


def test_store_level_gold_equals_an_independent_computation(gold: dict[str, dict], lab_db: Path, raw_dir: Path) -> None:
    by_store = {(r["promo_id"], r["store_id"]): r for r in read_gold(lab_db, "promotion_lift_by_store")}
    reported = {k for k, r in by_store.items() if r["lift_pct"] is not None}
    want = recompute_by_store(compute_expected(Path(raw_dir)), {p: g["lift_status"] for p, g in gold.items()}, reported)
    assert set(by_store) == set(want)
    for key, w in want.items():
        g = by_store[key]
        for column, k in [
            ("observed_promo_days", "observed_promo_days"),
            ("baseline_days", "baseline_days"),
            ("promo_sales_lines", "promo_sales_lines"),
            ("promo_day_sales_lines", "promo_day_sales_lines"),
            ("baseline_sales_lines", "baseline_sales_lines"),
            ("lift_status", "status"),
        ]:
            assert g[column] == w[k], (key, column)
        shown = w if w["status"] in ("measured", "partially_observed") else dict.fromkeys(("lift", "low", "high"))
        estimated = w["baseline_sales_lines"] >= MIN_STORE_BASELINE_LINES  # else not even estimated
        for column, value in [
            ("avg_daily_units_during_promo", w["avg"] if estimated else None),
            ("baseline_daily_units", w["baseline"] if estimated else None),
            ("lift_pct", shown["lift"]),
            ("lift_low_pct", shown["low"]),
            ("lift_high_pct", shown["high"]),
        ]:
            assert same(g[column], value), (key, column, g[column], value)
    statuses = {r["lift_status"] for r in by_store.values()}
    assert {"measured", "too_sparse"} <= statuses  # the sample has stores with enough data and without


def test_true_lift_inside_the_interval_for_most_promotions(gold: dict[str, dict]) -> None:
    truth = read_truth()
    assert set(truth) == set(gold)
    judged = [p for p, g in gold.items() if g["lift_status"] == "measured"]
    assert len(judged) >= 15, judged
    assert all(truth[p]["ran_at_till"] == "true" for p in judged)
    true_lift = {p: float(truth[p]["true_lift_pct"]) for p in judged}
    covered = [p for p in judged if gold[p]["lift_low_pct"] <= true_lift[p] <= gold[p]["lift_high_pct"]]
    assert len(covered) >= 0.8 * len(judged), sorted(set(judged) - set(covered))
    # the point estimates track the truth: deeper discounts, larger measured lift
    pairs = np.array([(true_lift[p], gold[p]["lift_pct"]) for p in judged])
    assert np.corrcoef(pairs.T)[0, 1] > 0.5


def test_a_promotion_the_till_never_applied_shows_no_lift(gold: dict[str, dict]) -> None:
    never_ran = [p for p, row in read_truth().items() if row["ran_at_till"] == "false"]
    assert never_ran
    for promo_id in never_ran:
        row = gold[promo_id]
        assert (row["lift_status"], row["is_recorded_by_till"], row["promo_sales_lines"]) == (
            "not_recorded_by_till",
            False,
            0,
        )
        assert row["lift_pct"] is None and row["lift_low_pct"] is None and row["avg_daily_units_during_promo"] > 0


def test_promo_sales_lines_mean_the_same_per_store_and_for_the_chain(gold: dict[str, dict], lab_db: Path) -> None:
    """Lines carrying the promotion id at both levels: the stores add up to the chain, and a promotion
    the till never applied shows 0 in every store (it used to show the SKU's lines on its days)."""
    by_store: dict[str, int] = {}
    for row in read_gold(lab_db, "promotion_lift_by_store"):
        by_store[row["promo_id"]] = by_store.get(row["promo_id"], 0) + row["promo_sales_lines"]
    for promo_id, total in by_store.items():
        assert total == gold[promo_id]["promo_sales_lines"], promo_id
    never_ran = [p for p, row in read_truth().items() if row["ran_at_till"] == "false" and p in by_store]
    assert never_ran
    assert all(by_store[p] == 0 for p in never_ran)


def test_a_promotion_running_past_the_data_is_flagged(gold: dict[str, dict]) -> None:
    partial = [row for row in gold.values() if row["is_partially_observed"]]
    assert partial
    for row in partial:
        assert row["lift_status"] == "partially_observed"
        assert 0 < row["observed_promo_days"] < row["promo_days"]


def test_the_sample_and_its_truth_come_from_the_generator(tmp_path: Path) -> None:
    """Regenerating with the documented defaults reproduces the tracked raw files and truth byte for byte."""
    out, truth = tmp_path / "raw", tmp_path / "truth.csv"
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(out), "--truth", str(truth)], check=True)
    assert truth.read_bytes() == TRUTH.read_bytes()
    for path in sorted((LAB_DIR / "data" / "raw").glob("*.csv")):
        assert (out / path.name).read_bytes() == path.read_bytes(), path.name
    assert {p.name for p in out.glob("*.csv")} == {p.name for p in (LAB_DIR / "data" / "raw").glob("*.csv")}


def _estimates_module():
    """The Python model's module, loaded as plain Python (it needs only numpy and pandas)."""
    path = LAB_DIR / "dbt" / "models" / "intermediate" / "int_promotion_lift_estimates.py"
    spec = importlib.util.spec_from_file_location("promotion_lift_estimates", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _days(promo: list[tuple[int, int]], baseline: list[tuple[int, int]]) -> pd.DataFrame:
    """(weekday, units) pairs as int_promotion_lift_days rows."""
    rows = [("promo", w, u) for w, u in promo] + [("baseline", w, u) for w, u in baseline]
    return pd.DataFrame(rows, columns=["day_role", "iso_weekday", "units"])


def test_no_lift_without_a_baseline_for_every_promo_weekday() -> None:
    model = _estimates_module()
    row = model.one_promotion("PX", _days([(1, 5), (6, 9)], [(1, 2), (1, 4), (2, 3)]))  # no Saturday baseline
    assert (row["promo_days_used"], row["baseline_days"]) == (2, 3)
    assert row["avg_daily_units_during_promo"] == 7.0
    assert row["baseline_daily_units"] is None and row["lift_pct"] is None and row["lift_low_pct"] is None


def test_a_zero_baseline_gives_no_lift_and_an_all_zero_promotion_minus_100() -> None:
    model = _estimates_module()
    zero_base = model.one_promotion("PX", _days([(1, 5)], [(1, 0), (1, 0)]))
    assert zero_base["baseline_daily_units"] == 0.0 and zero_base["lift_pct"] is None
    nothing_sold = model.one_promotion("PY", _days([(1, 0), (2, 0)], [(1, 3), (2, 1), (2, 5)]))
    assert nothing_sold["lift_pct"] == -100.0
    assert nothing_sold["lift_low_pct"] == nothing_sold["lift_high_pct"] == -100.0


def test_promotions_outside_or_across_the_data_edges(tmp_path: Path) -> None:
    """A promotion wholly outside the sales period is not_observed; one that began before the data
    is partially_observed with only its observed days counted."""
    lab_dir = copy_lab(LAB_DIR, tmp_path)
    promotions = lab_dir / "data" / "raw" / "promotions.csv"
    with promotions.open("a", encoding="utf-8") as handle:
        handle.write("P901,SKU-1002,2027-03-01,2027-03-10,0.2000\n")  # after the data
        handle.write("P902,SKU-1003,2025-12-25,2026-01-04,0.2000\n")  # began before the data
    lab, report = run_lab_dir(lab_dir, echo=False)
    assert report.ok, report.error
    with duckdb.connect(str(lab.paths.database()), read_only=True) as con:
        rows = {
            r[0]: r[1:]
            for r in con.execute(
                "select promo_id, lift_status, observed_promo_days, is_partially_observed, lift_pct is null"
                " from gold.promotion_lift where promo_id in ('P901', 'P902')"
            ).fetchall()
        }
    assert rows["P901"] == ("not_observed", 0, True, True)
    # P902 was never rung up by the till (no line carries P902): flagged so, with its 4 observed days counted
    assert rows["P902"] == ("not_recorded_by_till", 4, True, True)
