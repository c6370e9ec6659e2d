"""Lab 3 on altered copies of the sample: relabelled customer ids, and dates that carry little information.

Each test writes its own raw files into a temporary copy of the lab and runs the whole pipeline there.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from buildcpg_shared.testing import copy_lab, run_lab_dir
from rfm_recompute import expected_customers

COMPARED = ["recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "segment", "cluster"]


def _rewrite(path: Path, change) -> None:
    """Rewrite a CSV file through ``change(header, rows) -> rows``."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    rows = change(header, rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _run(lab: Path) -> dict[str, pd.DataFrame]:
    checked, report = run_lab_dir(lab)
    assert report.ok, f"lab run failed: {report.error}; {[(s.name, s.status, s.detail) for s in report.steps]}"
    with duckdb.connect(str(checked.paths.database()), read_only=True) as con:
        return {
            "customers": con.execute("select * from gold.customer_segments").df().set_index("customer_id"),
            "choice": con.execute("select * from gold.cluster_k_choice order by k").df(),
            "dimensions": con.execute("select * from gold.score_dimensions").df().set_index("dimension"),
        }


@pytest.mark.parametrize("relabelling", ["reversed", "random"])
def test_relabelled_ids_and_shuffled_rows_give_identical_results(
    lab_dir: Path, lab_db: Path, tmp_path: Path, relabelling: str
) -> None:
    """Ids reversed (C00001 <-> C01500) or replaced by random others; every file's rows shuffled."""
    lab = copy_lab(lab_dir, tmp_path)
    raw = lab / "data" / "raw"
    with (raw / "customers.csv").open(encoding="utf-8") as handle:
        ids = sorted(row["customer_id"] for row in csv.DictReader(handle))
    rng = random.Random(7)
    if relabelling == "reversed":
        relabel = dict(zip(ids, reversed(ids), strict=True))
    else:
        relabel = {old: f"K{n}" for old, n in zip(ids, rng.sample(range(10_000, 99_999), len(ids)), strict=True)}

    def change(header: list[str], rows: list[list[str]]) -> list[list[str]]:
        col = header.index("customer_id")
        out = [[relabel[v] if i == col else v for i, v in enumerate(row)] for row in rows]
        rng.shuffle(out)
        return out

    for path in raw.glob("*.csv"):
        _rewrite(path, change)

    relabelled = _run(lab)
    with duckdb.connect(str(lab_db), read_only=True) as con:
        original = con.execute("select * from gold.customer_segments").df().set_index("customer_id")
        choice = con.execute("select * from gold.cluster_k_choice order by k").df()
    mapped = relabelled["customers"].loc[[relabel[c] for c in original.index]]
    for column in COMPARED:
        differs = (mapped[column].astype(str).to_numpy() != original[column].astype(str).to_numpy()).sum()
        assert differs == 0, f"{column}: {differs} customers changed when only their ids and row order changed"
    pd.testing.assert_frame_equal(relabelled["choice"], choice, check_exact=False, rtol=1e-9)


@pytest.fixture(scope="module")
def recent_only(lab_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pd.DataFrame]]:
    """A 60-day panel of the customers who bought in its last 3 days, with no signup dates."""
    lab = copy_lab(lab_dir, tmp_path_factory.mktemp("recent"))
    raw = lab / "data" / "raw"
    rows = []
    for path in sorted(raw.glob("transactions_*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            rows.extend(csv.DictReader(handle))
        path.unlink()
    end = max(pd.Timestamp(r["txn_date"]) for r in rows)
    recent = {r["customer_id"] for r in rows if pd.Timestamp(r["txn_date"]) > end - pd.Timedelta(days=3)}
    kept = [r for r in rows if r["customer_id"] in recent and pd.Timestamp(r["txn_date"]) > end - pd.Timedelta(days=60)]
    with (raw / "transactions_panel.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept)

    def blank_signup(header: list[str], rows: list[list[str]]) -> list[list[str]]:
        col = header.index("signup_date")
        return [[("" if i == col else v) for i, v in enumerate(row)] for row in rows]

    _rewrite(raw / "customers.csv", blank_signup)
    return raw, _run(lab)


def test_recent_only_panel_says_recency_and_tenure_cannot_be_used(
    recent_only: tuple[Path, dict[str, pd.DataFrame]],
) -> None:
    _, result = recent_only
    dims = result["dimensions"]
    assert not dims.loc["recency", "scored"]
    assert dims.loc["recency", "distinct_values"] <= 3
    assert dims.loc["recency", "note"].startswith("recency not scored")
    assert not dims.loc["tenure", "scored"]
    assert "nobody is called new" in dims.loc["tenure", "note"]
    assert dims.loc["frequency", "scored"] and dims.loc["monetary", "scored"]


def test_recent_only_panel_scores_and_segments_match_recomputation(
    recent_only: tuple[Path, dict[str, pd.DataFrame]],
) -> None:
    raw, result = recent_only
    got = result["customers"]
    want, info = expected_customers(raw)
    assert not info["recency_scored"] and not info["tenure_used"]
    assert set(got.index) == set(want.index)
    got = got.loc[want.index]
    assert got["r_score"].isna().all()
    assert got["signup_date"].isna().all(), "signup_date is optional and was blank"
    assert (got["f_score"].to_numpy() == want["f_score"].to_numpy()).all()
    assert (got["m_score"].to_numpy() == want["m_score"].to_numpy()).all()
    assert (got["segment"].to_numpy() == want["segment"].to_numpy()).all()
    # everyone bought in the last 3 days: nobody may be called lapsed or new
    assert set(got["segment"]) <= {"champions", "loyal_customers", "occasional"}
    assert got["f_score"].nunique() >= 3, "frequency still ranks customers"


@pytest.fixture(scope="module")
def mostly_lapsed(lab_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pd.DataFrame]]:
    """The sample with 85% of the customers' purchases moved three years back: most have not bought for
    years, so the top recency quintiles hold customers gone for over 1,000 days."""
    lab = copy_lab(lab_dir, tmp_path_factory.mktemp("lapsed"))
    raw = lab / "data" / "raw"
    rows = []
    for path in sorted(raw.glob("transactions_*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            rows.extend(csv.DictReader(handle))
        path.unlink()
    customers = sorted({r["customer_id"] for r in rows})
    moved = set(random.Random(11).sample(customers, int(0.85 * len(customers))))
    for row in rows:
        if row["customer_id"] in moved:
            row["txn_date"] = (pd.Timestamp(row["txn_date"]) - pd.Timedelta(days=3 * 365)).date().isoformat()
    with (raw / "transactions_panel.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return raw, _run(lab)


def test_nobody_away_longer_than_the_limit_is_a_champion(mostly_lapsed: tuple[Path, dict[str, pd.DataFrame]]) -> None:
    """lab.yaml segments.active_within_days (365): gold equals the recomputation with the limit, and the
    panel is one where the relative scores alone would call long-gone customers champions."""
    raw, result = mostly_lapsed
    got = result["customers"]
    want, info = expected_customers(raw)
    assert info["recency_scored"]
    assert set(got.index) == set(want.index)
    got = got.loc[want.index]
    assert (got["segment"].to_numpy() == want["segment"].to_numpy()).all()
    active = got[got["segment"].isin(["champions", "loyal_customers"])]
    assert len(active) and active["recency_days"].max() <= 365
    # without the limit the same scores would make long-lapsed customers champions: the trap is real here
    unlimited, _ = expected_customers(raw, active_within_days=float("inf"))
    trapped = unlimited[(unlimited["segment"] == "champions") & (unlimited["recency_days"] > 365)]
    assert len(trapped) >= 10, len(trapped)
    assert set(got.loc[trapped.index, "segment"]) <= {"at_risk", "hibernating"}
