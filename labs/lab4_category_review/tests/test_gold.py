"""Lab 4's gold against an independent computation in plain Python from the same inputs.

The inputs are tracked snapshots of what labs 1, 2 and 3 publish (tests/fixtures/inputs/*.csv),
published as their serving copies by the buildcpg pytest plugin before the run (so this suite
needs none of the upstream labs installed); the planning hierarchy is data/raw.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "inputs"
WEEKS = 12


def _rows(name: str) -> list[dict[str, str]]:
    with (FIXTURES / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _hierarchy(raw_dir: Path) -> dict[str, str]:
    with (raw_dir / "forecast_categories.csv").open(newline="", encoding="utf-8") as handle:
        return {row["sku"]: row["category"] for row in csv.DictReader(handle)}


def _gold(lab_db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(lab_db), read_only=True) as con:
        return con.execute(sql).fetchall()


def expected_review(raw_dir: Path) -> dict[str, dict[str, object]]:
    """category_review recomputed: windows of complete weeks, sums, changes, the forecast ahead."""
    weeks = _rows("category_weeks")
    complete = sorted({dt.date.fromisoformat(r["week_start"]) for r in weeks if r["days_covered"] == "7"})
    last = complete[-1]

    def window(end: dt.date) -> list[dt.date]:
        return [end - dt.timedelta(weeks=i) for i in range(WEEKS)]

    windows = {
        "recent": window(last),
        "prior": window(last - dt.timedelta(weeks=WEEKS)),
        "last_year": window(last - dt.timedelta(days=364)),
    }
    full = {k: all(w in complete for w in v) for k, v in windows.items()}
    revenue: dict[tuple[str, str], float] = defaultdict(float)
    units: dict[str, int] = defaultdict(int)
    for row in weeks:
        monday = dt.date.fromisoformat(row["week_start"])
        for key, days in windows.items():
            if monday in days:
                revenue[(row["category"], key)] += float(row["net_revenue"])
                if key == "recent":
                    units[row["category"]] += int(row["units"])
    hierarchy = _hierarchy(raw_dir)
    ahead: dict[str, float] = defaultdict(float)
    series: dict[str, set[str]] = defaultdict(set)
    for row in _rows("forecast"):
        category = hierarchy.get(row["sku"], "(unmapped)")
        ahead[category] += float(row["forecast_units"])
        series[category].add(f"{row['sku']}|{row['region']}")
    categories = {r["category"] for r in weeks} | set(hierarchy.values())
    out = {}
    for c in categories:
        recent = revenue[(c, "recent")] if full["recent"] else None
        prior = revenue[(c, "prior")] if full["prior"] else None
        last_year = revenue[(c, "last_year")] if full["last_year"] else None
        out[c] = {
            "last_week_start": last,
            "revenue_recent": recent,
            "units_recent": units[c] if full["recent"] else None,
            "revenue_prior": prior,
            "change_vs_prior": round(recent / prior - 1, 4) if recent is not None and prior else None,
            "revenue_last_year": last_year,
            "forecast_units_ahead": ahead[c],
            "forecast_series": len(series[c]),
        }
    return out


def test_category_review_equals_the_independent_computation(lab_db: Path, raw_dir: Path) -> None:
    want = expected_review(raw_dir)
    columns = list(next(iter(want.values())))
    rows = _gold(lab_db, f"select category, {', '.join(columns)} from gold.category_review")
    got = {r[0]: dict(zip(columns, r[1:], strict=True)) for r in rows}
    assert set(got) == set(want)
    for category, expected in want.items():
        for column, value in expected.items():
            actual = got[category][column]
            if isinstance(value, float):
                assert actual == pytest.approx(value, rel=1e-9), (category, column)
            else:
                assert actual == value, (category, column, actual, value)


def test_the_sample_has_both_comparisons_it_can_and_says_why_not(lab_db: Path) -> None:
    """Lab 1's sample holds half a year: recent and prior windows are complete, last year is not."""
    rows = _gold(
        lab_db,
        "select revenue_prior, revenue_last_year, change_vs_last_year, comparison_note from gold.category_review",
    )
    assert rows and all(r[0] is not None for r in rows)
    assert all(r[1] is None and r[2] is None for r in rows)
    assert {r[3] for r in rows} == {"lab 1 history does not reach a year back"}


def test_category_forecast_sums_the_series_of_each_category(lab_db: Path, raw_dir: Path) -> None:
    hierarchy = _hierarchy(raw_dir)
    want: dict[tuple[str, dt.date], list[float]] = defaultdict(list)
    for row in _rows("forecast"):
        want[(hierarchy.get(row["sku"], "(unmapped)"), dt.date.fromisoformat(row["period_start"]))].append(
            float(row["forecast_units"])
        )
    got = {(c, p): (u, n) for c, p, u, n in _gold(lab_db, "select * from gold.category_forecast")}
    assert set(got) == set(want)
    for key, values in want.items():
        assert got[key][0] == pytest.approx(sum(values), rel=1e-9) and got[key][1] == len(values)


def test_segment_shares_add_up_and_equal_the_inputs(lab_db: Path) -> None:
    segments = _rows("segments")
    total = sum(float(r["revenue"]) for r in segments)
    want = {r["segment"]: round(float(r["revenue"]) / total, 4) for r in segments}
    got = dict(_gold(lab_db, "select segment, share_of_revenue from gold.segment_revenue_share"))
    assert got == pytest.approx(want, abs=1e-4)
    assert sum(got.values()) == pytest.approx(1.0, abs=1e-3)


def test_the_run_records_which_published_version_of_each_input_it_used(lab_db: Path) -> None:
    rows = _gold(lab_db, "select name, lab, version, upstream_run_id from _buildcpg.input_versions order by name")
    assert rows == [
        ("category_weeks", "lab1_sales_performance", 1, "fixture"),
        ("forecast", "lab2_forecast_model", 1, "fixture"),
        ("segments", "lab3_customer_segmentation", 1, "fixture"),
    ]
