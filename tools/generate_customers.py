"""Generate deterministic customers and transactions for lab 3 (customer segmentation).

Writes ``customers.csv`` and one ``transactions_YYYY.csv`` per year into ``--out``. Column order
matches ``labs/lab3_customer_segmentation/lab.yaml``. The same arguments always produce
byte-identical files.

Customers follow a few behaviours, so recency, frequency and spend form real groups: loyal heavy
buyers who bought recently, regular buyers, occasional buyers, customers who were active and then
stopped (at risk, lapsed), and new customers who signed up in the last months. Basket values are
log-normal around a per-customer mean.

Example::

    python tools/generate_customers.py --out labs/lab3_customer_segmentation/data/raw
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import random
from pathlib import Path

START = dt.date(2024, 7, 1)
END = dt.date(2026, 6, 30)
REGIONS = ["north", "south", "east", "west"]
CHANNELS = ["store", "online", "app"]
# behaviour: (share of customers, orders per month, mean basket, active from (months before END),
#             active until (months before END))
BEHAVIOURS = {
    "heavy": (0.12, 3.0, 70.0, (18, 24), (0, 0)),
    "regular": (0.25, 1.2, 45.0, (12, 24), (0, 1)),
    "occasional": (0.25, 0.35, 35.0, (12, 24), (0, 4)),
    "at_risk": (0.15, 1.5, 55.0, (14, 24), (5, 9)),
    "lapsed": (0.13, 0.5, 30.0, (18, 24), (12, 20)),
    "new": (0.10, 1.0, 40.0, (1, 3), (0, 0)),
}


def _months_before_end(months: float) -> dt.date:
    return END - dt.timedelta(days=round(months * 30.44))


def generate(out: Path, customers: int, seed: int) -> None:
    """Write customers.csv and transactions_<year>.csv for ``customers`` customers."""
    rng = random.Random(seed)
    names = list(BEHAVIOURS)
    weights = [BEHAVIOURS[n][0] for n in names]
    rows_by_year: dict[int, list[list[str]]] = {}
    out.mkdir(parents=True, exist_ok=True)
    txn = 0
    with (out / "customers.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["customer_id", "signup_date", "region", "channel"])
        for i in range(1, customers + 1):
            behaviour = rng.choices(names, weights)[0]
            _, per_month, basket, (start_lo, start_hi), (end_lo, end_hi) = BEHAVIOURS[behaviour]
            first = _months_before_end(rng.uniform(start_lo, start_hi))
            first = max(first, START)
            last = _months_before_end(rng.uniform(end_lo, end_hi))
            if last <= first:
                last = first + dt.timedelta(days=1)
            customer = f"C{i:05d}"
            writer.writerow([customer, first.isoformat(), rng.choice(REGIONS), rng.choice(CHANNELS)])
            mean_basket = basket * rng.uniform(0.7, 1.4)
            rate = per_month * rng.uniform(0.7, 1.3) / 30.44  # orders per day
            day, before = first, txn
            while True:
                day += dt.timedelta(days=max(1, round(rng.expovariate(rate))))
                if day > last:
                    break
                txn += 1
                amount = math.exp(rng.gauss(math.log(mean_basket), 0.35))
                rows_by_year.setdefault(day.year, []).append(
                    [f"T{txn:07d}", customer, day.isoformat(), f"{amount:.2f}"]
                )
            if txn == before:  # every customer buys at least once: on the signup day
                txn += 1
                amount = math.exp(rng.gauss(math.log(mean_basket), 0.35))
                rows_by_year.setdefault(first.year, []).append(
                    [f"T{txn:07d}", customer, first.isoformat(), f"{amount:.2f}"]
                )
    for year, rows in sorted(rows_by_year.items()):
        rows.sort(key=lambda r: (r[2], r[0]))
        with (out / f"transactions_{year}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["transaction_id", "customer_id", "txn_date", "amount"])
            writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write the CSV files into")
    parser.add_argument("--customers", type=int, default=1500, help="number of customers (default: 1500)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default: 2026)")
    args = parser.parse_args()
    generate(args.out, args.customers, args.seed)


if __name__ == "__main__":
    main()
