"""Lab 2's promotion candidate (``promo_regression``) on the sample generator's data, whose lifts are known.

The generator (tools/generate_demand.py) lifts demand by 1 + discount × elasticity (± 30% per
promotion) while a promotion runs and dips it the week after. A data set of 40 regular weekly series
(a seed no other test uses) runs twice, with ``forecast.promotions`` on and off; the promotion plan
of one series is removed (it must not get the candidate). Everything here is computed from the raw
CSVs with pandas, next to the lab's gold.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
import yaml
from lab2_expected import assert_gold_matches, read_table, run_with_series, series_from_raw

LAB_DIR = Path(__file__).resolve().parents[1]
SEED, SKUS, REGIONS = 11, 10, 4
WITHOUT_PLAN = ("SKU-0002", "north")  # its promotions are removed from the plan (not from its sales)


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return _load("generate_demand", LAB_DIR.parents[1] / "tools" / "generate_demand.py")


@pytest.fixture(scope="module")
def candidates_module() -> ModuleType:
    return _load("int_candidate_forecasts", LAB_DIR / "dbt" / "models" / "intermediate" / "int_candidate_forecasts.py")


@pytest.fixture(scope="module")
def block(lab_dir: Path) -> dict[str, object]:
    return yaml.safe_load((lab_dir / "lab.yaml").read_text(encoding="utf-8"))["forecast"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, generator: ModuleType) -> Path:
    raw = tmp_path_factory.mktemp("promo-raw")
    generator.generate(raw, 156, 12, SEED, SKUS, REGIONS, False)
    plan = pd.read_csv(raw / "promotions.csv", dtype={"discount_pct": str})
    drop = (plan["sku"] == WITHOUT_PLAN[0]) & (plan["region"] == WITHOUT_PLAN[1])
    assert drop.sum() > 0
    plan[~drop].to_csv(raw / "promotions.csv", index=False)
    return raw


@pytest.fixture(scope="module")
def runs(
    lab_dir: Path, generated: Path, block: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> dict[bool, Path]:
    """promotions on / off -> the run's database (the same data, only forecast.promotions differs)."""
    extra = {p.name: p.read_text(encoding="utf-8") for p in generated.glob("*.csv") if p.name != "demand.csv"}
    out = {}
    for promotions in (True, False):
        lab, report = run_with_series(
            lab_dir,
            tmp_path_factory.mktemp(f"promo-{promotions}"),
            pd.read_csv(generated / "demand.csv"),
            {**block, "promotions": promotions},
            extra,
        )
        assert report.ok, report.error
        out[promotions] = lab.paths.database()
    return out


def weekly_depth(raw: Path) -> pd.DataFrame:
    """sku, region, period_start, depth: each promotion's discount times its days in the week / 7, summed."""
    plan = pd.read_csv(raw / "promotions.csv", parse_dates=["start_date", "end_date"])
    rows = []
    for p in plan.itertuples():
        week = p.start_date - pd.Timedelta(days=p.start_date.weekday())
        while week <= p.end_date:
            days = (min(p.end_date, week + pd.Timedelta(days=6)) - max(p.start_date, week)).days + 1
            rows.append((p.sku, p.region, week, p.discount_pct * days / 7))
            week += pd.Timedelta(weeks=1)
    frame = pd.DataFrame(rows, columns=["sku", "region", "period_start", "depth"])
    return frame.groupby(["sku", "region", "period_start"], as_index=False)["depth"].sum()


def test_promo_depth_matches_an_independent_computation(runs: dict[bool, Path], generated: Path) -> None:
    """The regressor, history and plan ahead, equals the plan's discounts spread over the weeks' days."""
    want = weekly_depth(generated)
    for table in ("int_demand_series", "int_forecast_periods"):
        got = read_table(runs[True], f"select sku, region, period_start, promo_depth from silver.{table}")
        got["period_start"] = pd.to_datetime(got["period_start"])
        merged = got.merge(want, on=["sku", "region", "period_start"], how="left").fillna({"depth": 0.0})
        np.testing.assert_allclose(merged["promo_depth"], merged["depth"], atol=1e-9, err_msg=table)
        assert (merged["promo_depth"] > 0).sum() > 20, table


def test_gold_matches_and_says_which_series_use_the_plan(
    runs: dict[bool, Path], generated: Path, block: dict[str, object]
) -> None:
    """Both runs equal the independent selection and accuracy; the candidate goes to the regular series
    with at least 3 promoted weeks before the first backtest window, and gold says which ship it. Turning
    it off changes nothing but its rows."""
    horizon, origins = int(block["horizon"]), int(block["origins"])  # type: ignore[call-overload]
    for promotions, db in runs.items():
        assert_gold_matches(db, generated, {**block, "promotions": promotions})
    series = series_from_raw(generated, "weekly").merge(
        weekly_depth(generated), on=["sku", "region", "period_start"], how="left"
    )
    first_cutoff = series["period_index"].max() - origins * horizon
    before = series[(series["period_index"] <= first_cutoff) & (series["depth"] > 0)]
    promoted = before.groupby(["sku", "region"]).size()
    expected = {key for key, n in promoted.items() if n >= 3}
    gold = read_table(runs[True], "select * from gold.forecast_series")
    got = {(r.sku, r.region) for r in gold.itertuples() if r.promo_candidate}
    assert got == expected and WITHOUT_PLAN not in got and len(got) == SKUS * REGIONS - 1
    assert (gold["uses_promotions"] == (gold["model"] == "promo_regression")).all()
    assert gold["uses_promotions"].sum() >= 10, gold[["sku", "region", "model", "best_candidate"]]
    off = read_table(runs[False], "select * from gold.forecast_series")
    assert not off["promo_candidate"].any() and not off["uses_promotions"].any()
    # the other candidates' forecasts are the same in both runs: the candidate is the only difference
    query = "select * from silver.int_candidate_forecasts where method <> 'promo_regression' order by all"
    with_plan, without = (read_table(runs[flag], query) for flag in (True, False))
    assert set(read_table(runs[False], "select distinct method from silver.int_candidate_forecasts")["method"]) == set(
        with_plan["method"]
    )
    np.testing.assert_allclose(with_plan["forecast_units"], without["forecast_units"], rtol=1e-12)


def _shipped_final_window(db: Path, origins: int, depth: pd.DataFrame) -> pd.DataFrame:
    points = read_table(
        db,
        "select c.sku, c.region, c.period_index, c.actual_units, c.forecast_units from silver.int_candidate_forecasts c"
        " join gold.forecast_series s on s.sku = c.sku and s.region = c.region and s.model = c.method"
        f" where c.kind = 'backtest' and c.window_index = {origins} and s.status = 'regular'",
    )
    return points.merge(depth, on=["sku", "region", "period_index"], how="left").fillna({"depth": 0.0})


def test_promoted_weeks_error_falls_and_no_worse_elsewhere(
    runs: dict[bool, Path], generated: Path, block: dict[str, object]
) -> None:
    """On the final window (never seen by the selection) the shipped forecast with the candidate misses
    promoted weeks by at least 20% less than without it, and the other weeks by no more."""
    origins = int(block["origins"])  # type: ignore[call-overload]
    series = series_from_raw(generated, "weekly").merge(
        weekly_depth(generated), on=["sku", "region", "period_start"], how="left"
    )
    depth = series[["sku", "region", "period_index", "depth"]]
    wape: dict[tuple[bool, bool], float] = {}
    for promotions, db in runs.items():
        points = _shipped_final_window(db, origins, depth)
        for promoted in (True, False):
            rows = points[(points["depth"] > 0) == promoted]
            wape[promotions, promoted] = float(
                (rows["actual_units"] - rows["forecast_units"]).abs().sum() / rows["actual_units"].sum()
            )
    print(
        "\n[lab2] final window, shipped WAPE with / without the promotion candidate: promoted weeks "
        f"{wape[True, True]:.3f} / {wape[False, True]:.3f}, "
        f"other weeks {wape[True, False]:.3f} / {wape[False, False]:.3f}"
    )
    assert wape[True, True] <= 0.8 * wape[False, True], wape
    assert wape[True, False] <= wape[False, False], wape


def test_promotion_regression_recovers_the_generators_known_lifts(
    generator: ModuleType, candidates_module: ModuleType
) -> None:
    """On single series drawn by the generator (its lifts known), the lift the candidate puts on a
    planned promotion (its forecast with the plan over the same forecast without it) is close to the
    series' true lift at that discount, 1 + discount × elasticity (elasticity from its known lifts)."""
    weeks = generator.week_starts(156 + 12)
    model = candidates_module.PromoRegression(52)
    errors = []
    for seed in range(20):
        units, promos = generator.regular_series(np.random.default_rng(1000 + seed), weeks, 156, 150.0, False)
        history = np.zeros(156)
        for first, last, discount, _ in promos:
            history[first : min(last + 1, 156)] = discount
        no_plan = np.concatenate([history, np.zeros(12)])
        plan = no_plan.copy()
        plan[160:162] = 0.20  # a planned 20% promotion in weeks 5 and 6 ahead
        with_plan, without = (
            candidates_module.promo_regression(units.astype(float), depth, 12, model)[""] for depth in (plan, no_plan)
        )
        lift = float(np.mean((1 + with_plan[4:6]) / (1 + without[4:6])))
        elasticity = np.mean([(true - 1) / discount for first, _, discount, true in promos if first < 156])
        errors.append(lift / (1 + 0.20 * elasticity) - 1)
    relative = np.array(errors)
    print(f"\n[lab2] planned-promotion lift over the true one - 1: median {np.median(relative):+.3f}")
    assert np.median(np.abs(relative)) <= 0.08, relative
    assert np.abs(relative).max() <= 0.20, relative
