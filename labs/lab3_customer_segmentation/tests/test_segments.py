"""Lab 3's gold tables against an independent computation from the raw CSVs (pandas, numpy).

Measures, tie-aware quintile scores, the date-information checks, segments, the segment summary and
the score_dimensions table are recomputed in rfm_recompute.py. Fixtures ``lab_db`` and ``raw_dir``
come from the buildcpg pytest plugin (one pipeline run per session).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from rfm_recompute import expected_customers


@pytest.fixture(scope="module")
def expected(raw_dir: Path) -> tuple[pd.DataFrame, dict[str, object]]:
    return expected_customers(raw_dir)


@pytest.fixture(scope="module")
def gold(lab_db: Path) -> pd.DataFrame:
    with duckdb.connect(str(lab_db), read_only=True) as con:
        return con.execute("select * from gold.customer_segments").df().set_index("customer_id")


def test_measures_scores_and_segments_match(gold: pd.DataFrame, expected: tuple[pd.DataFrame, dict]) -> None:
    want, _ = expected
    assert set(gold.index) == set(want.index)
    got = gold.loc[want.index]
    for column in ["recency_days", "tenure_days", "frequency", "f_score", "m_score", "segment"]:
        mismatched = got.index[got[column].to_numpy() != want[column].to_numpy()]
        assert not len(mismatched), f"{column}: {len(mismatched)} customers differ, e.g. {list(mismatched[:5])}"
    assert (got["r_score"].astype("Int64") == want["r_score"]).all()
    assert all(Decimal(str(g)) == w for g, w in zip(got["monetary"], want["monetary"], strict=True))
    assert (pd.to_datetime(got["first_purchase"]) == want["first_purchase"]).all()


def test_equal_values_share_a_score(gold: pd.DataFrame) -> None:
    """No tie is broken: every distinct value of a measure maps to exactly one score."""
    for measure, score in [("recency_days", "r_score"), ("frequency", "f_score"), ("monetary", "m_score")]:
        per_value = gold.groupby(measure)[score].nunique()
        assert (per_value == 1).all(), (
            f"{measure}: values with several {score}s: {list(per_value[per_value > 1].index)}"
        )
        # and scores rise with the measure (recency: fall)
        ordered = gold.sort_values(measure)[score].to_numpy()
        steps = ordered[1:] - ordered[:-1]
        assert (steps <= 0).all() if measure == "recency_days" else (steps >= 0).all(), measure


def test_date_information_matches(lab_db: Path, expected: tuple[pd.DataFrame, dict]) -> None:
    _, info = expected
    with duckdb.connect(str(lab_db), read_only=True) as con:
        row = con.execute(
            "select typical_gap_days, share_away_beyond_gap, recency_values, recency_scored, tenure_used "
            "from silver.int_date_information"
        ).fetchall()
    assert len(row) == 1
    gap, share, values, scored, tenure = row[0]
    assert gap == pytest.approx(info["typical_gap_days"], rel=1e-9)
    assert share == pytest.approx(info["share_away_beyond_gap"], abs=5e-5)
    assert (values, scored, tenure) == (info["recency_values"], info["recency_scored"], info["tenure_used"])
    assert scored and tenure, "the sample's dates are informative: recency scored, tenure used"


def test_segment_summary_matches(lab_db: Path, expected: tuple[pd.DataFrame, dict]) -> None:
    want, _ = expected
    total_revenue = sum(want["monetary"], Decimal(0))
    with duckdb.connect(str(lab_db), read_only=True) as con:
        rows = con.execute(
            "select segment, customers, share_of_customers, avg_frequency, revenue, share_of_revenue "
            "from gold.segment_summary"
        ).fetchall()
    assert {row[0] for row in rows} == set(want["segment"])
    assert len(rows) == 6, "the sample holds every behaviour, so every segment is populated"
    for segment, customers, share, avg_frequency, revenue, revenue_share in rows:
        members = want[want["segment"] == segment]
        assert customers == len(members)
        assert share == pytest.approx(len(members) / len(want), abs=5e-5)
        assert avg_frequency == pytest.approx(members["frequency"].mean(), abs=5e-3)
        assert revenue == sum(members["monetary"], Decimal(0))
        assert revenue_share == pytest.approx(float(revenue / total_revenue), abs=5e-5)


def test_score_dimensions_match(lab_db: Path, expected: tuple[pd.DataFrame, dict]) -> None:
    want, _ = expected
    columns = {
        "recency": want["recency_days"],
        "frequency": want["frequency"],
        "monetary": want["monetary"].astype(float),
        "tenure": want["tenure_days"],
    }
    with duckdb.connect(str(lab_db), read_only=True) as con:
        rows = con.execute(
            "select dimension, distinct_values, largest_tie_share, scored, note from gold.score_dimensions"
        ).fetchall()
    assert {row[0] for row in rows} == set(columns)
    for dimension, distinct, tie_share, scored, note in rows:
        values = columns[dimension]
        assert distinct == values.nunique(), dimension
        assert tie_share == pytest.approx(values.value_counts().max() / len(values), abs=5e-5), dimension
        assert scored is True and note, dimension


def test_as_of_date_is_the_day_after_the_last_purchase(gold: pd.DataFrame, raw_dir: Path) -> None:
    last = max(
        dt.date.fromisoformat(line.split(",")[2])
        for path in raw_dir.glob("transactions_*.csv")
        for line in path.read_text(encoding="utf-8").splitlines()[1:]
    )
    assert set(pd.to_datetime(gold["as_of_date"]).dt.date) == {last + dt.timedelta(days=1)}


def test_this_venv_has_scikit_learn_but_not_lab2s_statsmodels() -> None:
    """Each lab's venv holds its own dependencies only (this suite runs in lab 3's venv or tox env)."""
    import importlib.util

    assert importlib.util.find_spec("sklearn") is not None
    assert importlib.util.find_spec("statsmodels") is None
