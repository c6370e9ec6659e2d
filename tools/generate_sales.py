"""Generate deterministic CPG point-of-sale data for lab 1 (sales performance).

Writes ``stores.csv``, ``products.csv``, ``promotions.csv`` and the sales lines (one
``sales_YYYY_MM.csv`` per month, or a single ``sales.csv`` with ``--single-file``) into ``--out``.
Column order matches ``labs/lab1_sales_performance/lab.yaml``. The same arguments always produce
byte-identical files (everything is drawn from one ``random.Random(seed)``).

Demand model: the expected number of lines of SKU ``s`` on day ``d`` is proportional to
``popularity(s) * weekday(d) * season(d) * promo(s, d)``: a weekly pattern (weekends sell more), a
mild yearly cycle (+-8%, peak in July), and ``promo = 1 + true_lift`` on the days of a promotion,
``1 - POST_PROMO_DIP`` for the ``POST_PROMO_DAYS`` after it (shoppers stocked up), 1 otherwise. Each
day's total of lines is that day's share of ``--rows`` (exact total, cumulative rounding), spread
over the SKUs in proportion to their weights; units per line follow one distribution, promoted or
not. So a promotion multiplies its SKU's expected daily units by exactly ``1 + true_lift`` (up to
the rounding of a day's lines to a whole number): the **true lift**, drawn per promotion as
``LIFT_PER_DISCOUNT * discount * U(0.8, 1.25)`` (deeper discounts lift more), rounded to 1%.

Promotions: ``N_PROMOTIONS`` on the more popular SKUs, 7-14 days, never within two weeks of another
promotion of the same SKU. Their lines carry ``promo_id`` and ``discount_pct``. Two are special on
purpose: the last one starts a few days before the data ends and runs past it (partially
observed), and one calendar promotion never ran at the till (no line carries its ``promo_id``, no
discount, no lift: true lift 0). ``--truth FILE`` writes each promotion's true lift. Revenue is
``round(units * unit_price * (1 - discount_pct), 2)`` (half away from zero), ``discount_pct`` is 0
outside promotions.

With ``--dirty`` (the default) a small, fixed set of bad sales lines is injected so the pipeline's
quarantine and exception handling have something to catch: non-numeric units, an impossible date,
negative units, zero units, a revenue that breaks the formula, two exact duplicate transaction ids
(one within a file, one across two monthly files), an unknown store and an unknown SKU.

Rows are generated a day at a time and streamed to disk, so memory stays flat for any ``--rows``.

Example::

    python tools/generate_sales.py --out labs/lab1_sales_performance/data/raw \
        --truth labs/lab1_sales_performance/tests/fixtures/promotion_truth.csv
    python tools/generate_sales.py --out /tmp/bench --rows 10000000 --single-file --no-dirty
"""

from __future__ import annotations

import argparse
import calendar
import csv
import datetime as dt
import itertools
import math
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
SEASON_AMPLITUDE = 0.08  # mild yearly cycle: demand +-8% around the mean
SEASON_PEAK_DAY = 196  # day of the year with the highest demand (mid-July)
DISCOUNTS_BP = [1000, 1500, 2000, 2500, 3000]  # discount in basis points (10% .. 30%)
LIFT_PER_DISCOUNT = 4.0  # true lift ~ 4 x discount: a 20% discount lifts daily units by ~80%
LIFT_SPREAD = (0.8, 1.25)  # per-promotion factor on that lift (same discount, different lift)
POST_PROMO_DAYS = 7  # after a promotion, demand dips for this many days ...
POST_PROMO_DIP = 0.2  # ... by this fraction (shoppers stocked up)
N_PROMOTIONS = 20
PROMO_SKU_POOL = 24  # promotions go to the most popular SKUs (retailers promote what sells)
PROMO_GAP_DAYS = 14  # minimum gap between two promotions of one SKU
TRUTH_COLUMNS = ["promo_id", "sku", "discount_pct", "ran_at_till", "true_lift_pct"]
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
    true_lift_pct: int  # expected daily units x (1 + true_lift_pct / 100) while it runs
    ran_at_till: bool = True  # False: in the calendar, never applied (no promo_id, no lift)


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
    """``N_PROMOTIONS`` promotions of 7-14 days on popular SKUs (see the module docstring).

    All but the last lie inside the ``n_days`` from ``start``; the last starts 4 days before the
    end and runs past it. One promotion inside (chosen at random) never ran at the till.
    """
    pool = sorted(products, key=lambda p: (-p.popularity, p.sku))[: min(PROMO_SKU_POOL, len(products))]
    n_distinct = min(16, len(pool))
    skus = rng.sample([p.sku for p in pool], n_distinct)
    skus = (skus * N_PROMOTIONS)[: N_PROMOTIONS - 1]
    windows: dict[str, list[tuple[dt.date, dt.date]]] = {}

    def free(sku: str, first: dt.date, last: dt.date) -> bool:
        gap = dt.timedelta(days=PROMO_GAP_DAYS)
        return all(last + gap < s or first > e + gap for s, e in windows.get(sku, []))

    drafts: list[tuple[dt.date, dt.date, str, int, int]] = []

    def add(sku: str, first: dt.date, last: dt.date) -> None:
        discount_bp = rng.choice(DISCOUNTS_BP)
        lift = LIFT_PER_DISCOUNT * discount_bp / 10000 * rng.uniform(*LIFT_SPREAD)
        windows.setdefault(sku, []).append((first, last))
        drafts.append((first, last, sku, discount_bp, round(100 * lift)))

    for sku in skus:
        for _ in range(100):
            length = min(rng.randint(7, 14), n_days)
            first = start + dt.timedelta(days=rng.randint(0, n_days - length))
            last = first + dt.timedelta(days=length - 1)
            if free(sku, first, last):
                add(sku, first, last)
                break
    inside = len(drafts)
    if n_days > 4:  # still running when the data ends: partially observed
        first = start + dt.timedelta(days=n_days - 4)
        last = first + dt.timedelta(days=9)
        sku = next((p.sku for p in pool if free(p.sku, first, last)), None)
        if sku is not None:
            add(sku, first, last)
    never_ran = rng.randrange(inside) if inside else -1
    drafts = [(*d, i != never_ran) for i, d in enumerate(drafts)]
    drafts.sort()
    return [
        Promotion(f"P{i + 1:03d}", sku, s, e, bp, lift if ran else 0, ran)
        for i, (s, e, sku, bp, lift, ran) in enumerate(drafts)
    ]


def season(day: dt.date) -> float:
    """Mild yearly demand cycle, 1 +- SEASON_AMPLITUDE, highest on SEASON_PEAK_DAY."""
    angle = 2 * math.pi * (day.timetuple().tm_yday - SEASON_PEAK_DAY) / 365.25
    return 1 + SEASON_AMPLITUDE * math.cos(angle)


def promo_factors(promotions: list[Promotion]) -> dict[dt.date, dict[str, float]]:
    """Per day, the demand factor of each SKU that is not 1: 1 + lift while a promotion runs,
    1 - POST_PROMO_DIP for POST_PROMO_DAYS after it (a promotion's own days win over a dip)."""
    factors: dict[dt.date, dict[str, float]] = {}
    ran = [p for p in promotions if p.ran_at_till]
    for promotion in ran:
        for i in range(1, POST_PROMO_DAYS + 1):
            day = promotion.end_date + dt.timedelta(days=i)
            factors.setdefault(day, {})[promotion.sku] = 1 - POST_PROMO_DIP
    for promotion in ran:
        for i in range((promotion.end_date - promotion.start_date).days + 1):
            day = promotion.start_date + dt.timedelta(days=i)
            factors.setdefault(day, {})[promotion.sku] = 1 + promotion.true_lift_pct / 100
    return factors


def daily_counts(weights: list[float], total: int) -> list[int]:
    """Split ``total`` lines over the days in proportion to ``weights`` (exact total, cumulative rounding)."""
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


BREAK_KINDS = ("null", "zero", "x100")  # a broken feed: a column emptied, zeroed, or in cents instead of units


def parse_break(spec: str) -> tuple[str, str, float]:
    """``KIND:COLUMN[:SHARE]`` (e.g. ``null:discount_pct:0.4``, ``x100:unit_price``) → (kind, column, share)."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or parts[0] not in BREAK_KINDS or parts[1] not in SALES_COLUMNS[1:]:
        raise ValueError(f"--break {spec!r}: expected KIND:COLUMN[:SHARE], KIND one of {', '.join(BREAK_KINDS)}")
    share = float(parts[2]) if len(parts) == 3 else 1.0
    if not 0 < share <= 1:
        raise ValueError(f"--break {spec!r}: SHARE must be in (0, 1]")
    return parts[0], parts[1], share


def break_row(row: list[str], kind: str, index: int) -> list[str]:
    """The line with column ``index`` broken the way ``kind`` says (the column monitors' test feed)."""
    value = row[index]
    if kind == "null":
        row[index] = ""
    elif kind == "zero":
        row[index] = "0"
    elif value:
        row[index] = str(round(float(value) * 100, 2))
    return row


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
    truth: Path | None = None,
    broken: tuple[str, str, float] | None = None,
) -> Summary:
    """Write all files into ``out`` (and the true lift of each promotion into ``truth``, when given).

    ``broken`` (kind, column, share) breaks that share of the sales lines' column (``--break``): drawn from its
    own random stream, so every other value stays the bytes an unbroken run writes."""
    break_rng = random.Random(seed + 1)
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

    if truth is not None:
        truth.parent.mkdir(parents=True, exist_ok=True)
        write_table(
            truth,
            TRUTH_COLUMNS,
            [
                [p.promo_id, p.sku, discount_str(p.discount_bp), str(p.ran_at_till).lower(), str(p.true_lift_pct)]
                for p in promotions
            ],
        )

    factors = promo_factors(promotions)
    # a SKU's weight on a day: popularity x its promotion factor (weekday and season are common to all SKUs)
    sku_cums = {
        day: list(itertools.accumulate(p.popularity * factors.get(day, {}).get(p.sku, 1.0) for p in products))
        for day in days
    }
    counts = daily_counts([WEEKDAY_WEIGHTS[d.weekday()] * season(d) * sku_cums[d][-1] for d in days], rows)
    plan = plan_dirty(counts, days, rows) if dirty else {}
    store_ids = [s.store_id for s in stores]
    store_cum = list(itertools.accumulate(s.weight for s in stores))
    skus = [p.sku for p in products]
    price = {p.sku: p.price_cents for p in products}
    price_str = {p.sku: money(p.price_cents) for p in products}
    promo_by_day: dict[dt.date, dict[str, Promotion]] = {}  # promotions the till applies
    for promotion in promotions:
        if not promotion.ran_at_till:
            continue
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
            sku_cum = sku_cums[day]
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
                if broken is not None and break_rng.random() < broken[2]:
                    row = break_row(row, broken[0], SALES_COLUMNS.index(broken[1]))
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
    parser.add_argument("--rows", type=int, default=30000, help="total number of sales lines, dirty lines included")
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
        help="write all sales lines into one sales.csv instead of one sales_YYYY_MM.csv per month (for benchmarks)",
    )
    parser.add_argument(
        "--truth",
        type=Path,
        help="also write each promotion's true lift (promo_id, sku, discount_pct, ran_at_till, "
        "true_lift_pct) to this CSV file; keep it outside --out so the lab does not load it",
    )
    parser.add_argument(
        "--break",
        dest="broken",
        metavar="KIND:COLUMN[:SHARE]",
        help="break a sales column like a broken feed: null (emptied), zero, or x100 (cents for units) in SHARE of "
        "the lines (default all), e.g. null:discount_pct:0.5; column monitors (lab.yaml monitors:) catch it",
    )
    args = parser.parse_args(argv)
    if args.broken:
        try:
            args.broken = parse_break(args.broken)
        except ValueError as err:
            parser.error(str(err))
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
        args.truth,
        args.broken,
    )
    print(summary.line(args.out))


if __name__ == "__main__":
    main()
