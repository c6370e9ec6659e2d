"""Generate deterministic customers, transactions and their true behaviour types for lab 3.

Writes ``customers.csv`` and one ``transactions_YYYY.csv`` per year into ``--out``, and the truth
file ``customer_types.csv`` (customer_id, true_type) into ``--truth``. Column order matches
``labs/lab3_customer_segmentation/lab.yaml``; the truth file is read only by the lab's tests (it is
not a source of the lab). The same arguments always produce byte-identical files.

Every customer gets one latent behaviour type, which fixes when they start buying, when they stop,
how often they buy and how much they spend (see ``TYPES``):

- ``champion``: heavy buyers (about 3.5 orders a month, large baskets), active for a year or more
  and still buying;
- ``loyal``: regular buyers (about 1.3 a month), still buying;
- ``occasional``: long-standing customers who buy every few months, still active;
- ``new``: first purchase in the last three months, buying about monthly since;
- ``at_risk``: used to buy often (about 2 a month) for at least half a year, then stopped 4 to 9
  months before the end of the data;
- ``hibernating``: bought rarely and stopped 11 to 20 months before the end.

Purchases arrive as a Poisson process at the customer's rate between start and stop (each customer's
rate and basket are drawn around their type's values); basket values are log-normal around the
customer's mean basket. A customer always buys at least once (on the start day). Customer ids are
assigned in random order, so an id says nothing about the type.

Example::

    python tools/generate_customers.py --out labs/lab3_customer_segmentation/data/raw \\
        --truth labs/lab3_customer_segmentation/data/truth
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import random
from dataclasses import dataclass
from pathlib import Path

START = dt.date(2024, 7, 1)
END = dt.date(2026, 6, 30)
DAYS_PER_MONTH = 30.44
REGIONS = ["north", "south", "east", "west"]
CHANNELS = ["store", "online", "app"]


@dataclass(frozen=True)
class BehaviourType:
    """How one latent customer type buys. Months count back from END."""

    share: float
    orders_per_month: float
    basket: float
    start_months: tuple[float, float]
    stop_months: tuple[float, float]


TYPES: dict[str, BehaviourType] = {
    "champion": BehaviourType(0.12, 3.5, 75.0, (12, 24), (0, 0)),
    "loyal": BehaviourType(0.22, 1.3, 45.0, (10, 24), (0, 0)),
    "occasional": BehaviourType(0.22, 0.3, 35.0, (12, 24), (0, 0)),
    "new": BehaviourType(0.12, 1.0, 40.0, (0.3, 3), (0, 0)),
    "at_risk": BehaviourType(0.16, 2.0, 55.0, (16, 24), (4, 9)),
    "hibernating": BehaviourType(0.16, 0.4, 30.0, (20, 24), (11, 20)),
}


def _months_before_end(months: float) -> dt.date:
    return END - dt.timedelta(days=round(months * DAYS_PER_MONTH))


def _purchase_days(rng: random.Random, first: dt.date, last: dt.date, per_day: float) -> list[dt.date]:
    """Days of a Poisson process of rate ``per_day`` on [first, last]; at least the first day."""
    days: list[dt.date] = []
    t = 0.0
    span = (last - first).days
    while True:
        t += rng.expovariate(per_day)
        if t > span:
            break
        days.append(first + dt.timedelta(days=int(t)))
    return days or [first]


def generate(out: Path, truth: Path, customers: int, seed: int) -> None:
    """Write customers.csv and transactions_<year>.csv into ``out``, customer_types.csv into ``truth``."""
    rng = random.Random(seed)
    names = list(TYPES)
    types = rng.choices(names, [TYPES[n].share for n in names], k=customers)
    ids = [f"C{i:05d}" for i in range(1, customers + 1)]
    rng.shuffle(ids)  # ids in random order: nothing to learn from an id
    purchases: list[tuple[str, str, str]] = []  # (date, customer, amount)
    master: list[list[str]] = []
    for customer, name in zip(ids, types, strict=True):
        kind = TYPES[name]
        first = max(_months_before_end(rng.uniform(*kind.start_months)), START)
        last = min(_months_before_end(rng.uniform(*kind.stop_months)), END)
        last = max(last, first)
        master.append([customer, first.isoformat(), rng.choice(REGIONS), rng.choice(CHANNELS)])
        mean_basket = kind.basket * rng.uniform(0.75, 1.3)
        per_day = kind.orders_per_month * rng.uniform(0.75, 1.25) / DAYS_PER_MONTH
        for day in _purchase_days(rng, first, last, per_day):
            amount = math.exp(rng.gauss(math.log(mean_basket), 0.35))
            purchases.append((day.isoformat(), customer, f"{amount:.2f}"))
    out.mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)
    order = sorted(range(customers), key=lambda i: ids[i])
    _write(out / "customers.csv", ["customer_id", "signup_date", "region", "channel"], [master[i] for i in order])
    _write(truth / "customer_types.csv", ["customer_id", "true_type"], [[ids[i], types[i]] for i in order])
    purchases.sort()
    by_year: dict[str, list[list[str]]] = {}
    for n, (day, customer, amount) in enumerate(purchases, start=1):
        by_year.setdefault(day[:4], []).append([f"T{n:07d}", customer, day, amount])
    for year, rows in sorted(by_year.items()):
        _write(out / f"transactions_{year}.csv", ["transaction_id", "customer_id", "txn_date", "amount"], rows)


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write the raw CSV files into")
    parser.add_argument("--truth", type=Path, required=True, help="folder to write customer_types.csv into")
    parser.add_argument("--customers", type=int, default=1500, help="number of customers (default: 1500)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default: 2026)")
    args = parser.parse_args()
    generate(args.out, args.truth, args.customers, args.seed)


if __name__ == "__main__":
    main()
