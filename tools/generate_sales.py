"""Generate deterministic CPG point-of-sale data for lab 1 (sales performance).

Writes ``stores.csv``, ``products.csv``, ``promotions.csv`` and the sales lines (one
``sales_YYYY_MM.csv`` per month, or a single ``sales.csv`` with ``--single-file``) into ``--out``.
Column order matches ``labs/lab1_sales_performance/lab.yaml``. The same arguments always produce
byte-identical files (everything is drawn from one ``random.Random(seed)``).

Realism: five regions, five categories with brands and price bands, a weekly shopping pattern
(weekends sell more), and ~15 promotions: while a SKU is on promotion it is picked more often,
sells more units per line, and its lines carry ``promo_id`` and ``discount_pct``. Revenue is
``round(units * unit_price * (1 - discount_pct), 2)`` (half away from zero), ``discount_pct`` is 0
outside promotions.

With ``--dirty`` (the default) a small, fixed set of bad sales lines is injected so the pipeline's
quarantine and exception handling have something to catch: non-numeric units, an impossible date,
negative units, zero units, a revenue that breaks the formula, two exact duplicate transaction ids
(one within a file, one across two monthly files), an unknown store and an unknown SKU.

Rows are generated a day at a time and streamed to disk, so memory stays flat for any ``--rows``.

Example::

    python tools/generate_sales.py --out labs/lab1_sales_performance/data/raw
    python tools/generate_sales.py --out /tmp/bench --rows 10000000 --single-file --no-dirty
"""

from __future__ import annotations

import argparse
import calendar
import csv
import datetime as dt
import itertools
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

SALES_COLUMNS = [
    "transaction_id",
    "sale_date",
    "store_id",
    "sku",
    "units",
    "unit_price",
    "discount_pct",
    "revenue",
    "promo_id",
]
STORE_COLUMNS = ["store_id", "store_name", "region", "city", "opened_date"]
PRODUCT_COLUMNS = ["sku", "product_name", "category", "brand", "list_price"]
PROMOTION_COLUMNS = ["promo_id", "sku", "start_date", "end_date", "discount_pct"]

REGION_CITIES: dict[str, list[str]] = {
    "North": ["Minneapolis", "Duluth", "Fargo", "Madison", "Green Bay"],
    "South": ["Atlanta", "Nashville", "Birmingham", "Memphis", "Savannah"],
    "East": ["Boston", "Philadelphia", "Baltimore", "Hartford", "Providence"],
    "West": ["Seattle", "Portland", "Sacramento", "Boise", "Reno"],
    "Central": ["Denver", "Omaha", "Kansas City", "Wichita", "Des Moines"],
}
STORE_FORMATS = ["Market", "Superstore", "Express", "Corner Shop"]

# category -> (brands, (min price, max price), product names)
CATALOG: dict[str, tuple[list[str], tuple[float, float], list[str]]] = {
    "Beverages": (
        ["Aqua Vista", "FizzCo", "Sunny Grove"],
        (0.99, 4.99),
        [
            "Sparkling Water 1L",
            "Cola 330ml",
            "Orange Juice 1L",
            "Iced Tea 500ml",
            "Cold Brew Coffee 250ml",
            "Energy Drink 250ml",
            "Lemonade 1L",
            "Still Water 6x500ml",
            "Apple Juice 1L",
            "Ginger Ale 330ml",
        ],
    ),
    "Snacks": (
        ["Crunchy Cove", "Golden Bites", "Nutty Nook"],
        (1.49, 5.99),
        [
            "Sea Salt Chips 150g",
            "Tortilla Chips 200g",
            "Salted Peanuts 250g",
            "Pretzel Twists 180g",
            "Chocolate Cookies 300g",
            "Granola Bar 6-pack",
            "Popcorn 100g",
            "Trail Mix 200g",
            "Rice Crackers 120g",
            "Cheese Puffs 150g",
        ],
    ),
    "Dairy": (
        ["Meadow Fresh", "Alpine Farms"],
        (0.89, 6.49),
        [
            "Whole Milk 1L",
            "Greek Yogurt 500g",
            "Cheddar 200g",
            "Butter 250g",
            "Skimmed Milk 1L",
            "Cream Cheese 150g",
            "Mozzarella 125g",
            "Fruit Yogurt 4-pack",
            "Double Cream 300ml",
            "Kefir 500ml",
        ],
    ),
    "Household": (
        ["SparkleHome", "PureNest"],
        (2.99, 12.99),
        [
            "Dish Soap 750ml",
            "Laundry Pods 30ct",
            "Paper Towels 6-roll",
            "Toilet Tissue 12-roll",
            "All-Purpose Cleaner 1L",
            "Trash Bags 40ct",
            "Sponges 5-pack",
            "Fabric Softener 1.5L",
            "Glass Cleaner 500ml",
            "Dishwasher Tabs 40ct",
        ],
    ),
    "Personal Care": (
        ["Silk & Sage", "FreshDay"],
        (2.49, 14.99),
        [
            "Shampoo 400ml",
            "Conditioner 400ml",
            "Body Wash 500ml",
            "Toothpaste 100ml",
            "Deodorant 50ml",
            "Hand Soap 300ml",
            "Razor 4-pack",
            "Face Cream 50ml",
            "Mouthwash 500ml",
            "Cotton Pads 80ct",
        ],
    ),
}

# Monday .. Sunday relative demand.
WEEKDAY_WEIGHTS = [0.85, 0.80, 0.85, 0.95, 1.15, 1.35, 1.05]
UNIT_VALUES = [1, 2, 3, 4, 6, 12]
UNIT_CUM_WEIGHTS = list(itertools.accumulate([40, 25, 12, 10, 8, 5]))
PROMO_PICK_BOOST = 1.8  # a promoted SKU is this many times more likely to be picked
PROMO_EXTRA_UNITS = [0, 1, 1, 2]  # extra units per promoted line (drawn uniformly)
DISCOUNTS_BP = [1000, 1500, 2000, 2500, 3000]  # discount in basis points (10% .. 30%)
N_PROMOTIONS = 15
MIN_DIRTY_ROWS = 100  # below this many rows the dirty rows could collide


class RowWriter(Protocol):
    """The part of a csv writer used here."""

    def writerow(self, row: Iterable[object], /) -> object: ...

    def writerows(self, rows: Iterable[Iterable[object]], /) -> None: ...


@dataclass(frozen=True)
class Store:
    """One row of stores.csv."""

    store_id: str
    store_name: str
    region: str
    city: str
    opened_date: dt.date
    weight: float


@dataclass(frozen=True)
class Product:
    """One row of products.csv."""

    sku: str
    product_name: str
    category: str
    brand: str
    price_cents: int
    popularity: float


@dataclass(frozen=True)
class Promotion:
    """One row of promotions.csv."""

    promo_id: str
    sku: str
    start_date: dt.date
    end_date: dt.date
    discount_bp: int


def money(cents: int) -> str:
    """Format integer cents as a decimal string with two places ("-1.05")."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def discount_str(bp: int) -> str:
    """Format a discount in basis points as a DECIMAL(5,4) string; 0 means no discount."""
    return "0" if bp == 0 else f"0.{bp:04d}"


def revenue_cents(units: int, price_cents: int, discount_bp: int) -> int:
    """round(units * price * (1 - discount), 2), half away from zero, in integer cents."""
    scaled = units * price_cents * (10000 - discount_bp)  # cents * 1e4
    q, r = divmod(abs(scaled), 10000)
    q += 1 if r * 2 >= 10000 else 0
    return q if scaled >= 0 else -q


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day-of-month ``months`` later, clamped to the month's last day."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def make_stores(rng: random.Random, n: int) -> list[Store]:
    """Stores spread round-robin over the regions, each with a relative size."""
    regions = list(REGION_CITIES)
    stores: list[Store] = []
    used: set[str] = set()
    for i in range(n):
        region = regions[i % len(regions)]
        city = REGION_CITIES[region][(i // len(regions)) % len(REGION_CITIES[region])]
        name = f"{city} {STORE_FORMATS[(i // len(regions)) % len(STORE_FORMATS)]}"
        if name in used:
            name = f"{name} #{i + 1}"
        used.add(name)
        opened = dt.date(2012, 1, 1) + dt.timedelta(days=rng.randrange(365 * 12))
        stores.append(Store(f"S{i + 1:03d}", name, region, city, opened, rng.uniform(0.6, 1.6)))
    return stores


def make_products(rng: random.Random, n: int) -> list[Product]:
    """SKUs spread round-robin over the categories, with a price band and a popularity."""
    categories = list(CATALOG)
    products: list[Product] = []
    for i in range(n):
        category = categories[i % len(categories)]
        brands, (low, high), names = CATALOG[category]
        k = i // len(categories)
        name = names[k % len(names)]
        if k >= len(names):
            name = f"{name} Value Pack {k // len(names) + 1}"
        price_cents = round(rng.uniform(low, high) * 100)
        price_cents = price_cents - price_cents % 10 + 9  # shelf prices end in 9
        products.append(
            Product(
                f"SKU-{1001 + i}",
                name,
                category,
                brands[k % len(brands)],
                price_cents,
                rng.lognormvariate(0.0, 0.6),
            )
        )
    return products


def make_promotions(
    rng: random.Random,
    products: list[Product],
    start: dt.date,
    n_days: int,
) -> list[Promotion]:
    """About 15 promotions of 7-14 days; a few SKUs get two, never overlapping on one SKU."""
    n_distinct = min(12, len(products))
    skus = rng.sample([p.sku for p in products], n_distinct)
    skus += skus[: N_PROMOTIONS - n_distinct]
    windows: dict[str, list[tuple[dt.date, dt.date]]] = {}
    drafts: list[tuple[dt.date, dt.date, str, int]] = []
    for sku in skus:
        for _ in range(100):
            length = min(rng.randint(7, 14), n_days)
            first = start + dt.timedelta(days=rng.randint(0, n_days - length))
            last = first + dt.timedelta(days=length - 1)
            taken = windows.setdefault(sku, [])
            # keep a one-week gap to any other promotion of the same SKU
            if all(
                last + dt.timedelta(days=7) < s or first > e + dt.timedelta(days=7)
                for s, e in taken
            ):
                taken.append((first, last))
                drafts.append((first, last, sku, rng.choice(DISCOUNTS_BP)))
                break
    drafts.sort()
    return [Promotion(f"P{i + 1:03d}", sku, s, e, bp) for i, (s, e, sku, bp) in enumerate(drafts)]


def daily_counts(days: list[dt.date], total: int) -> list[int]:
    """Split ``total`` lines over the days by weekday weight (exact total, cumulative rounding)."""
    weights = [WEEKDAY_WEIGHTS[d.weekday()] for d in days]
    cum = list(itertools.accumulate(weights))
    bounds = [round(total * c / cum[-1]) for c in cum]
    return [b - a for a, b in zip([0, *bounds[:-1]], bounds, strict=True)]


def plan_dirty(counts: list[int], days: list[dt.date], total: int) -> dict[int, str]:
    """Choose the global line index of each dirty line (deterministic, no collisions)."""
    # per month: index of its first line and of the first line of its last day with sales
    month_first: dict[tuple[int, int], int] = {}
    month_last_day: dict[tuple[int, int], int] = {}
    index = 0
    for day, count in zip(days, counts, strict=True):
        if count:
            month_first.setdefault((day.year, day.month), index)
            month_last_day[(day.year, day.month)] = index
        index += count
    months = list(month_first)
    target = months[1] if len(months) > 1 else months[0]
    wanted: list[tuple[str, int]] = []
    if len(months) > 1:  # first line of the second month repeats the last line of the first
        wanted.append(("duplicate_across_files", month_first[target]))
    wanted.append(("impossible_date", month_last_day[target]))
    for kind, frac in [
        ("revenue_mismatch", 0.10),
        ("negative_units", 0.25),
        ("zero_units", 0.40),
        ("unknown_store", 0.55),
        ("unknown_sku", 0.70),
        ("non_numeric_units", 0.85),
        ("duplicate_same_file", 0.95),
    ]:
        wanted.append((kind, int(total * frac)))
    plan: dict[int, str] = {}
    reserved: set[int] = set()
    for kind, pos in wanted:
        is_dup = kind.startswith("duplicate")
        pos = max(pos, 1) if is_dup else pos
        while pos in reserved or (is_dup and pos - 1 in reserved):
            pos += 1
        plan[pos] = kind
        reserved.update({pos, pos - 1} if is_dup else {pos})
    return plan


def impossible_date(day: dt.date) -> str:
    """A date string in ``day``'s month that no calendar has (2026-02-30 for February)."""
    return f"{day.year}-{day.month:02d}-{30 if day.month == 2 else 32}"


@dataclass(frozen=True)
class Summary:
    """What ``generate`` wrote."""

    rows: int
    sales_files: list[str]
    stores: int
    products: int
    promotions: int
    injected: list[tuple[str, str, str]]  # (kind, file, transaction_id) of each dirty line
    total_bytes: int

    def line(self, out: Path) -> str:
        """One-line human summary."""
        return (
            f"wrote {self.rows} sales lines ({len(self.injected)} dirty) in "
            f"{len(self.sales_files)} file(s), {self.stores} stores, {self.products} products, "
            f"{self.promotions} promotions to {out} ({self.total_bytes / 1e6:.1f} MB)"
        )


class SalesWriter:
    """Streams sales lines into one file per month, or into a single sales.csv."""

    def __init__(self, out: Path, single_file: bool) -> None:
        self.out = out
        self.single_file = single_file
        self.handle: TextIO | None = None
        self.writer: RowWriter | None = None
        self.current = ""
        self.files: list[str] = []

    def file_name(self, day: dt.date) -> str:
        """Name of the file that holds ``day``'s lines."""
        return "sales.csv" if self.single_file else f"sales_{day.year}_{day.month:02d}.csv"

    def writer_for(self, day: dt.date) -> RowWriter:
        """Return the csv writer for ``day``'s file, opening a new file when the month changes."""
        name = self.file_name(day)
        if name != self.current:
            self.close()
            self.handle = (self.out / name).open("w", newline="", encoding="utf-8")
            self.writer = csv.writer(self.handle, lineterminator="\n")
            self.writer.writerow(SALES_COLUMNS)
            self.current = name
            self.files.append(name)
        assert self.writer is not None
        return self.writer

    def close(self) -> None:
        """Close the open file, if any."""
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def write_table(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """Write a small master-data CSV."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def generate(
    out: Path,
    rows: int,
    seed: int,
    n_stores: int,
    n_skus: int,
    start: dt.date,
    months: int,
    dirty: bool,
    single_file: bool,
) -> Summary:
    """Write all files into ``out`` and return a summary of what was written."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    end = add_months(start, months)
    days = [start + dt.timedelta(days=i) for i in range((end - start).days)]
    stores = make_stores(rng, n_stores)
    products = make_products(rng, n_skus)
    promotions = make_promotions(rng, products, start, len(days))

    write_table(
        out / "stores.csv",
        STORE_COLUMNS,
        [[s.store_id, s.store_name, s.region, s.city, s.opened_date.isoformat()] for s in stores],
    )
    write_table(
        out / "products.csv",
        PRODUCT_COLUMNS,
        [[p.sku, p.product_name, p.category, p.brand, money(p.price_cents)] for p in products],
    )
    write_table(
        out / "promotions.csv",
        PROMOTION_COLUMNS,
        [
            [
                p.promo_id,
                p.sku,
                p.start_date.isoformat(),
                p.end_date.isoformat(),
                discount_str(p.discount_bp),
            ]
            for p in promotions
        ],
    )

    counts = daily_counts(days, rows)
    plan = plan_dirty(counts, days, rows) if dirty else {}
    store_ids = [s.store_id for s in stores]
    store_cum = list(itertools.accumulate(s.weight for s in stores))
    skus = [p.sku for p in products]
    price = {p.sku: p.price_cents for p in products}
    price_str = {p.sku: money(p.price_cents) for p in products}
    promo_by_day: dict[dt.date, dict[str, Promotion]] = {}
    for promotion in promotions:
        for i in range((promotion.end_date - promotion.start_date).days + 1):
            on_day = promo_by_day.setdefault(promotion.start_date + dt.timedelta(days=i), {})
            on_day[promotion.sku] = promotion

    writer = SalesWriter(out, single_file)
    index = 0
    next_id = 1
    last_row: list[str] | None = None
    injected: list[tuple[str, str, str]] = []  # (kind, file, transaction_id)
    try:
        for day, count in zip(days, counts, strict=True):
            if not count:
                continue
            active = promo_by_day.get(day, {})
            sku_cum = list(
                itertools.accumulate(
                    p.popularity * (PROMO_PICK_BOOST if p.sku in active else 1.0) for p in products
                )
            )
            day_str = day.isoformat()
            picked_stores = rng.choices(store_ids, cum_weights=store_cum, k=count)
            picked_skus = rng.choices(skus, cum_weights=sku_cum, k=count)
            picked_units = rng.choices(UNIT_VALUES, cum_weights=UNIT_CUM_WEIGHTS, k=count)
            batch: list[list[str]] = []
            for store_id, sku, units in zip(picked_stores, picked_skus, picked_units, strict=True):
                promo = active.get(sku)
                if promo is None:
                    row = [
                        f"T{next_id:09d}",
                        day_str,
                        store_id,
                        sku,
                        str(units),
                        price_str[sku],
                        "0",
                        money(units * price[sku]),
                        "",
                    ]
                else:
                    units += rng.choice(PROMO_EXTRA_UNITS)
                    row = [
                        f"T{next_id:09d}",
                        day_str,
                        store_id,
                        sku,
                        str(units),
                        price_str[sku],
                        discount_str(promo.discount_bp),
                        money(revenue_cents(units, price[sku], promo.discount_bp)),
                        promo.promo_id,
                    ]
                kind = plan.get(index)
                if kind is not None:
                    row = apply_dirty(kind, row, last_row, day)
                    injected.append((kind, writer.file_name(day), row[0]))
                if not (kind or "").startswith("duplicate"):
                    next_id += 1
                batch.append(row)
                last_row = row
                index += 1
            writer.writer_for(day).writerows(batch)
    finally:
        writer.close()

    files = ["stores.csv", "products.csv", "promotions.csv", *writer.files]
    return Summary(
        rows,
        writer.files,
        len(stores),
        len(products),
        len(promotions),
        injected,
        sum((out / f).stat().st_size for f in files),
    )


def apply_dirty(
    kind: str,
    row: list[str],
    last_row: list[str] | None,
    day: dt.date,
) -> list[str]:
    """Turn a freshly generated line into the dirty line of the given kind.

    Apart from the broken rule, the line stays consistent (a non-promoted line whose revenue
    follows the formula), so each dirty line breaks exactly one rule.
    """
    if kind.startswith("duplicate"):
        assert last_row is not None
        return list(last_row)
    row = list(row)
    units = int(row[4])
    price_cents = int(row[5].replace(".", ""))
    if kind == "revenue_mismatch":  # keeps its promotion, revenue is 10.00 too high
        discount_bp = int(row[6].replace("0.", "", 1)) if row[6] != "0" else 0
        row[7] = money(revenue_cents(units, price_cents, discount_bp) + 1000)
        return row
    row[6], row[8] = "0", ""  # a plain, non-promoted line
    if kind == "negative_units":
        units = -units
    elif kind == "zero_units":
        units = 0
    row[4] = str(units)
    row[7] = money(units * price_cents)
    if kind == "non_numeric_units":
        row[4] = "abc"
    elif kind == "impossible_date":
        row[1] = impossible_date(day)
    elif kind == "unknown_store":
        row[2] = "S999"
    elif kind == "unknown_sku":
        row[3] = "SKU-9999"
    return row


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description=(
            "Generate deterministic CPG sales data (stores, products, promotions and POS sales "
            "lines) for lab 1. Same arguments, same bytes."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="directory to write the CSV files into (created if missing)",
    )
    parser.add_argument(
        "--rows", type=int, default=30000, help="total number of sales lines, dirty lines included"
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    parser.add_argument("--stores", type=int, default=20, help="number of stores")
    parser.add_argument("--skus", type=int, default=40, help="number of products (SKUs)")
    parser.add_argument(
        "--start",
        type=dt.date.fromisoformat,
        default=dt.date(2026, 1, 1),
        help="first sale date (YYYY-MM-DD)",
    )
    parser.add_argument("--months", type=int, default=6, help="number of calendar months of sales")
    parser.add_argument(
        "--dirty",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="inject a fixed handful of bad sales lines (bad types, duplicates, "
        "unknown keys, non-positive units, wrong revenue)",
    )
    parser.add_argument(
        "--single-file",
        action="store_true",
        help="write all sales lines into one sales.csv instead of one "
        "sales_YYYY_MM.csv per month (for benchmarks)",
    )
    args = parser.parse_args(argv)
    if args.rows < 1 or args.stores < 1 or args.skus < 1 or args.months < 1:
        parser.error("--rows, --stores, --skus and --months must be positive")
    if args.dirty and args.rows < MIN_DIRTY_ROWS:
        parser.error(f"--dirty needs --rows >= {MIN_DIRTY_ROWS} (or pass --no-dirty)")
    return args


def main(argv: list[str] | None = None) -> None:
    """Entry point: generate the files and print a one-line summary."""
    args = parse_args(argv)
    summary = generate(
        args.out,
        args.rows,
        args.seed,
        args.stores,
        args.skus,
        args.start,
        args.months,
        args.dirty,
        args.single_file,
    )
    print(summary.line(args.out))


if __name__ == "__main__":
    main()
