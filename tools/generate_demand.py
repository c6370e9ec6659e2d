"""Generate deterministic weekly demand data for lab 2 (demand forecast).

Writes ``weekly_sales.csv`` (units per SKU × region × week), ``promotions.csv`` (the promotion plan,
including promotions already planned for the weeks after the history) and ``holidays.csv`` (holiday
weeks, history and the weeks ahead) into ``--out``. Column order matches
``labs/lab2_forecast_model/lab.yaml``. The same arguments always produce byte-identical files.

Each series follows ``log(units) = level + trend·t + yearly seasonality + promo lift + holiday lift
+ noise``: a series-specific level and trend, a yearly cycle (two harmonics) with its own amplitude
and phase, about six promotions a year per series (3–4 weeks each, lifting units by 25–45%), the
same five holidays every year, and Gaussian noise. Promotions fall on different weeks every year, so
a seasonal-naive forecast (same week last year) copies last year's promotions; a model that knows
the plan does not.

Example::

    python tools/generate_demand.py --out labs/lab2_forecast_model/data/raw
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import random
from pathlib import Path

SKUS = ["SKU-COLA-12", "SKU-CHIP-200", "SKU-SOAP-3", "SKU-PASTA-500", "SKU-YOGH-4"]
REGIONS = ["north", "south", "east", "west"]
FIRST_WEEK = dt.date(2023, 6, 5)  # a Monday
PERIOD = 52.0
# (name, ISO week number): the same week every year
HOLIDAYS = [("easter", 14), ("summer_break", 31), ("back_to_school", 36), ("black_friday", 47), ("christmas", 52)]


def week_starts(weeks: int) -> list[dt.date]:
    """``weeks`` consecutive Mondays from FIRST_WEEK."""
    return [FIRST_WEEK + dt.timedelta(weeks=i) for i in range(weeks)]


def holiday_weeks(weeks: list[dt.date]) -> dict[dt.date, str]:
    """Week start → holiday name, for the weeks whose ISO week number is a holiday week."""
    by_number = {number: name for name, number in HOLIDAYS}
    return {w: by_number[w.isocalendar().week] for w in weeks if w.isocalendar().week in by_number}


def plan_promotions(rng: random.Random, weeks: int) -> list[tuple[str, str, str, int, int, float]]:
    """(promo_id, sku, region, first week index, last week index, discount) for every series."""
    promos = []
    for sku in SKUS:
        for region in REGIONS:
            t = rng.randrange(2, 9)
            while t < weeks:
                length = rng.randint(3, 4)
                discount = rng.choice([0.10, 0.15, 0.20, 0.25])
                promos.append((f"P{len(promos) + 1:04d}", sku, region, t, min(t + length - 1, weeks - 1), discount))
                t += length + rng.randint(4, 10)
    return promos


def generate(out: Path, history_weeks: int, horizon: int, seed: int) -> None:
    """Write the three CSV files for ``history_weeks`` of sales and ``horizon`` planned weeks."""
    rng = random.Random(seed)
    all_weeks = week_starts(history_weeks + horizon)
    holidays = holiday_weeks(all_weeks)
    promos = plan_promotions(rng, history_weeks + horizon)
    on_promo: dict[tuple[str, str, int], float] = {}
    for _, sku, region, first, last, discount in promos:
        for t in range(first, last + 1):
            on_promo[(sku, region, t)] = discount
    out.mkdir(parents=True, exist_ok=True)
    with (out / "weekly_sales.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["week_start", "sku", "region", "units"])
        for sku in SKUS:
            for region in REGIONS:
                level = math.log(rng.uniform(60, 400))
                trend = rng.uniform(-0.002, 0.004)
                amp1, amp2 = rng.uniform(0.10, 0.35), rng.uniform(0.0, 0.12)
                phase1, phase2 = rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi)
                lift = rng.uniform(0.25, 0.45)
                holiday_lift = rng.uniform(0.20, 0.40)
                for t, week in enumerate(all_weeks[:history_weeks]):
                    season = amp1 * math.sin(2 * math.pi * t / PERIOD + phase1)
                    season += amp2 * math.sin(4 * math.pi * t / PERIOD + phase2)
                    value = level + trend * t + season + rng.gauss(0, 0.07)
                    value += lift * ((sku, region, t) in on_promo) + holiday_lift * (week in holidays)
                    writer.writerow([week.isoformat(), sku, region, max(1, round(math.exp(value)))])
    with (out / "promotions.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["promo_id", "sku", "region", "start_week", "end_week", "discount_pct"])
        for promo_id, sku, region, first, last, discount in promos:
            writer.writerow(
                [promo_id, sku, region, all_weeks[first].isoformat(), all_weeks[last].isoformat(), f"{discount:.2f}"]
            )
    with (out / "holidays.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["week_start", "holiday"])
        for week, name in sorted(holidays.items()):
            writer.writerow([week.isoformat(), name])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write the CSV files into")
    parser.add_argument("--weeks", type=int, default=156, help="weeks of sales history (default: 156)")
    parser.add_argument("--horizon", type=int, default=12, help="planned weeks after the history (default: 12)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default: 2026)")
    args = parser.parse_args()
    generate(args.out, args.weeks, args.horizon, args.seed)


if __name__ == "__main__":
    main()
