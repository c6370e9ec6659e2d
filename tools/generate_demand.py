"""Generate deterministic weekly demand data for lab 2 (demand forecast).

Writes ``demand.csv`` (units per SKU × region × week, weeks start on Monday), ``promotions.csv``
(the promotion plan, including promotions already planned after the history) and ``holidays.csv``
into ``--out``. Column order matches ``labs/lab2_forecast_model/lab.yaml``. The same arguments
always produce byte-identical files.

The process deliberately shares no formula with any of the lab's candidate models (no log-linear
trend, no harmonics, no Gaussian noise on a log scale):

- **Regular series** (``--skus`` × ``--regions``): mean demand = level × trend × season × promotion
  × holiday, drawn as negative-binomial counts (a Gamma-Poisson mixture, so the noise grows with the
  level and is over-dispersed). The **trend** is piecewise linear in the growth rate with one or two
  change points at random weeks (e.g. +15%/year, then -10%/year). The **season** is multiplicative:
  a yearly profile of one or two bumps of random height, width and peak week (a summer drink, a
  winter soup), not a sine. **Promotions** (about six a year, 1–3 weeks) lift demand by
  ``discount × elasticity`` where the elasticity varies by SKU and the lift by promotion (±30%),
  followed by a post-promotion dip of 10–25% in the next week (pantry loading). **Holidays** lift
  some SKUs and not others. A few weeks are missing from one series (the lab fills them with zero).
- **Intermittent SKUs** (``INTERMITTENT_SKUS``): a sale happens in a week with probability 0.15–0.35,
  its size is 1 + a geometric count; weeks without a sale have no row (60–85% of the weeks).
- **A launch** (``LAUNCH_SKU``): starts 36 weeks before the end, ramping up over ~10 weeks.
- **A discontinued SKU** (``DISCONTINUED_SKU``): declines, then stops 30 weeks before the end.
- **A short series** (``SHORT_SKU``): starts 90 weeks before the end (under two years of history).

Example::

    python tools/generate_demand.py --out labs/lab2_forecast_model/data/raw
    python tools/generate_demand.py --out /tmp/big --skus 250 --regions 4   # 1,000 regular series
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
from pathlib import Path

import numpy as np

FIRST_WEEK = dt.date(2023, 6, 5)  # a Monday
INTERMITTENT_SKUS = ["SKU-SPICE-50", "SKU-GIFTBOX-1"]
LAUNCH_SKU = "SKU-KOMBU-33"
DISCONTINUED_SKU = "SKU-DIET-33"
SHORT_SKU = "SKU-OATMILK-1"
SPECIAL_REGION = "north"
LAUNCH_WEEKS, DISCONTINUED_WEEKS_AGO, SHORT_WEEKS = 36, 30, 90
# (name, ISO week number): the same week every year
HOLIDAYS = [("easter", 14), ("summer_break", 31), ("black_friday", 47), ("christmas", 52)]
REGION_NAMES = ["north", "south", "east", "west", "central", "coast", "mountain", "islands"]
DISPERSION = 12.0  # negative binomial shape: variance = mean + mean² / DISPERSION


def week_starts(weeks: int) -> list[dt.date]:
    """``weeks`` consecutive Mondays from FIRST_WEEK."""
    return [FIRST_WEEK + dt.timedelta(weeks=i) for i in range(weeks)]


def seasonal_profile(rng: np.random.Generator) -> np.ndarray:
    """Multiplicative index per ISO week 1..53 (mean about 1): one or two circular bumps."""
    weeks = np.arange(1, 54)
    index = np.ones(53)
    for _ in range(rng.integers(1, 3)):
        peak, width, height = rng.uniform(1, 53), rng.uniform(3, 9), rng.uniform(0.3, 1.2)
        distance = np.minimum(np.abs(weeks - peak), 53 - np.abs(weeks - peak))
        index += height * np.exp(-0.5 * (distance / width) ** 2)
    return index / index.mean()


def trend_path(rng: np.random.Generator, weeks: int) -> np.ndarray:
    """Multiplicative trend: piecewise-constant weekly growth with one or two change points."""
    changes = np.sort(rng.choice(np.arange(20, weeks - 20), size=rng.integers(1, 3), replace=False))
    growth = np.empty(weeks)
    start = 0
    for end in [*changes, weeks]:
        growth[start:end] = rng.uniform(-0.20, 0.25) / 52  # yearly growth rate, per week
        start = end
    return np.cumprod(1 + growth)


def plan_promotions(rng: np.random.Generator, weeks: int) -> list[tuple[int, int, float, float]]:
    """(first week index, last week index, discount, lift factor) of one series' promotions."""
    promos = []
    elasticity = rng.uniform(1.5, 4.0)
    t = int(rng.integers(2, 9))
    while t < weeks:
        length = int(rng.integers(1, 4))
        discount = float(rng.choice([0.10, 0.15, 0.20, 0.25, 0.30]))
        lift = 1 + discount * elasticity * rng.uniform(0.7, 1.3)
        promos.append((t, min(t + length - 1, weeks - 1), discount, lift))
        t += length + int(rng.integers(5, 12))
    return promos


def counts(rng: np.random.Generator, mean: np.ndarray) -> np.ndarray:
    """Negative-binomial units with the given means (Gamma-Poisson mixture)."""
    return rng.poisson(rng.gamma(DISPERSION, np.maximum(mean, 0) / DISPERSION))


def regular_series(
    rng: np.random.Generator, weeks: list[dt.date], history: int, level: float, holiday_on: bool
) -> tuple[np.ndarray, list[tuple[int, int, float, float]]]:
    """Units of one regular series over ``history`` weeks and its promotions over all ``weeks``."""
    profile = seasonal_profile(rng)
    season = np.array([profile[w.isocalendar().week - 1] for w in weeks[:history]])
    promos = plan_promotions(rng, len(weeks))
    effect = np.ones(history)
    for first, last, _, lift in promos:
        effect[first : min(last + 1, history)] *= lift
        if last + 1 < history:
            effect[last + 1] *= 1 - rng.uniform(0.10, 0.25)
    holiday_numbers = {number for _, number in HOLIDAYS}
    lifted = [holiday_on and w.isocalendar().week in holiday_numbers for w in weeks[:history]]
    holiday = np.where(lifted, 1.3, 1.0)
    mean = level * trend_path(rng, history) * season * effect * holiday
    return counts(rng, mean), promos


def generate(out: Path, history: int, horizon: int, seed: int, skus: int, regions: int, specials: bool) -> None:
    """Write the three CSV files for ``history`` weeks of sales and ``horizon`` planned weeks."""
    rng = np.random.default_rng(seed)
    weeks = week_starts(history + horizon)
    region_names = REGION_NAMES[:regions] if regions <= len(REGION_NAMES) else [f"r{i:02d}" for i in range(regions)]
    rows: list[tuple[dt.date, str, str, int]] = []
    promo_rows: list[tuple[str, str, int, int, float]] = []
    for s in range(skus):
        sku = f"SKU-{s + 1:04d}"
        sku_level = rng.lognormal(math.log(120), 0.6)
        holiday_on = bool(rng.random() < 0.5)
        for region in region_names:
            units, promos = regular_series(rng, weeks, history, sku_level * rng.uniform(0.5, 1.5), holiday_on)
            missing: set[int] = set()
            if s == 0 and region == region_names[0]:  # a few lost weeks in one series
                missing = set(rng.choice(history, size=3, replace=False).tolist())
            rows += [(weeks[t], sku, region, int(units[t])) for t in range(history) if t not in missing]
            promo_rows += [(sku, region, first, last, discount) for first, last, discount, _ in promos]
    if specials:
        for sku in INTERMITTENT_SKUS:
            p = rng.uniform(0.15, 0.35)
            for t in range(history):
                if rng.random() < p:
                    rows.append((weeks[t], sku, SPECIAL_REGION, 1 + int(rng.geometric(0.4))))
        for sku, first, last in (
            (LAUNCH_SKU, history - LAUNCH_WEEKS, history),
            (DISCONTINUED_SKU, 0, history - DISCONTINUED_WEEKS_AGO),
            (SHORT_SKU, history - SHORT_WEEKS, history),
        ):
            units, promos = regular_series(rng, weeks, history, rng.uniform(80, 200), False)
            for t in range(first, last):
                shape = 1.0
                if sku == LAUNCH_SKU:
                    shape = 1 - math.exp(-(t - first + 1) / 4)  # ramp-up after the launch
                elif sku == DISCONTINUED_SKU:
                    shape = min(1.0, (last - t) / 26)  # fades out over its last half year
                rows.append((weeks[t], sku, SPECIAL_REGION, int(rng.binomial(units[t], shape))))
            promo_rows += [(sku, SPECIAL_REGION, f, min(la, last + horizon), d) for f, la, d, _ in promos if first <= f]
    out.mkdir(parents=True, exist_ok=True)
    with (out / "demand.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["period_start", "sku", "region", "units"])
        for week, sku, region, value in sorted(rows, key=lambda r: (r[1], r[2], r[0])):
            writer.writerow([week.isoformat(), sku, region, value])
    with (out / "promotions.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["promo_id", "sku", "region", "start_date", "end_date", "discount_pct"])
        for i, (sku, region, first, last, discount) in enumerate(promo_rows, start=1):
            end = weeks[last] + dt.timedelta(days=6)
            writer.writerow([f"P{i:05d}", sku, region, weeks[first].isoformat(), end.isoformat(), f"{discount:.2f}"])
    with (out / "holidays.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["holiday_date", "holiday"])
        by_number = {number: name for name, number in HOLIDAYS}
        for week in weeks:
            if week.isocalendar().week in by_number:
                writer.writerow([(week + dt.timedelta(days=4)).isoformat(), by_number[week.isocalendar().week]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write the CSV files into")
    parser.add_argument("--weeks", type=int, default=156, help="weeks of sales history (default: 156)")
    parser.add_argument("--horizon", type=int, default=12, help="planned weeks after the history (default: 12)")
    parser.add_argument("--skus", type=int, default=4, help="regular SKUs (default: 4)")
    parser.add_argument("--regions", type=int, default=3, help="regions per regular SKU (default: 3)")
    parser.add_argument("--no-specials", action="store_true", help="regular series only (no intermittent, launch, ...)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default: 2026)")
    args = parser.parse_args()
    generate(args.out, args.weeks, args.horizon, args.seed, args.skus, args.regions, not args.no_specials)


if __name__ == "__main__":
    main()
