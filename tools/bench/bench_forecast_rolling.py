"""Benchmark: how often lab 2's shipped forecast loses to seasonal naive, over many final windows.

Run in lab 2's venv, from the workspace root (about 10 minutes on 2 cores)::

    make bench-forecast-rolling
    # or: UV_PROJECT_ENVIRONMENT=$PWD/labs/lab2_forecast_model/.venv \\
    #     uv run --locked --package lab2-forecast-model python tools/bench/bench_forecast_rolling.py

The lab's test judges one final window per real series and horizon. One window is one draw: this
benchmark cuts each real set of the tests back again and again (weekly by 13 weeks, 20 cuts: five
years; monthly by 6 months and quarterly by 2 quarters, 10 cuts each), runs the whole lab on every
cut (a temporary copy, horizons 12 and 26) and collects each series' final-window WAPE over
seasonal naive's (1.0 where the guard kept the baseline).

From the same runs' backtests (``silver.int_candidate_forecasts``: every candidate on every window)
other selection rules are replayed offline, on exactly the same points: a larger guard margin, a
candidate that must beat naive in every selection window, and an extra candidate, the mean of every
model *including* seasonal naive (a combination with the baseline). The replay of the shipped rule
must reproduce gold's ratio on every series (printed, and the benchmark stops if it does not), so
the other rules are measured, not guessed. Each rule is printed with the geometric mean of the
ratios, how many (series, window) are above 1.10x, and the same per set and horizon. Last, the
shipped model's calibrated 80% and 95% interval coverage, pooled over the same final windows.

``--harmonic`` runs the lab with ``forecast.harmonic_regression: true`` (the rules are replayed on
those runs). ``--sets`` and ``--cuts`` make it shorter.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from bench_forecast import LAB_DIR, _real, read_table, run_with_series

STEP = {"weekly": 13, "monthly": 6, "quarterly": 2}  # periods dropped per cut
CUTS = {"weekly": 20, "monthly": 10, "quarterly": 10}
LIMIT = 1.10  # the per-series limit over seasonal naive


@dataclass
class Window:
    """One series' backtest errors on one cut and horizon (absolute errors, a column per method)."""

    set_name: str
    cut: int
    horizon: int
    sku: str
    origins: int
    errors: pd.DataFrame  # index (window_index, period_index)
    gold_ratio: float


def _cut(name: str, cut: int) -> pd.DataFrame:
    """The set of the lab's tests with its last ``cut`` periods dropped (weekly: both series end together)."""
    if name == "weekly":
        demand = _real.weekly_series(312 + cut)  # the same 312 weeks of history at every cut
        demand["period_start"] = pd.to_datetime(demand["period_start"])
        end = demand.loc[demand["sku"] == "US-GASOLINE", "period_start"].max() - pd.Timedelta(weeks=cut)
        demand = demand[demand["period_start"] <= end]
    else:
        demand = _real.SETS[name][1]()
        demand["period_start"] = pd.to_datetime(demand["period_start"])
        demand = demand.sort_values("period_start")
        demand = demand[demand.groupby("sku").cumcount(ascending=False) >= cut]  # each series' last ``cut`` dropped
    return demand.assign(period_start=demand["period_start"].dt.date).reset_index(drop=True)


Coverage = tuple[float, float, float]  # one run's final-window points, 80% and 95% coverage (gold, pooled)


def _windows(name: str, cut: int, horizon: int, tmp: Path, harmonic: bool) -> tuple[list[Window], Coverage]:
    """One lab run on one cut: each series' backtest errors, and the shipped model's coverage."""
    forecast = {**_real.SETS[name][0]["forecast"], "horizon": horizon}
    if harmonic:
        forecast["harmonic_regression"] = True
    lab_copy = tmp / f"{name}-{cut}-{horizon}"
    lab, report = run_with_series(LAB_DIR, lab_copy, _cut(name, cut), forecast)
    if not report.ok:
        sys.exit(f"{name} cut {cut} h={horizon}: lab run failed: {report.error}")
    db = lab.paths.database()
    backtest = read_table(
        db,
        "select sku, method, window_index, period_index, actual_units, forecast_units "
        "from silver.int_candidate_forecasts where kind = 'backtest' and forecast_units is not null",
    )
    gold = read_table(
        db, "select sku, guard_kept_baseline, final_wape, baseline_final_wape from gold.forecast_series"
    ).set_index("sku")
    overall = read_table(
        db,
        "select n_points, coverage_80, coverage_95 from gold.forecast_accuracy "
        "where level = 'overall' and method = 'model'",
    )
    coverage: Coverage = next(overall.itertuples(index=False, name=None))
    out = []
    for sku, rows in backtest.groupby("sku"):
        forecasts = rows.pivot_table(index=["window_index", "period_index"], columns="method", values="forecast_units")
        if "seasonal_naive" not in forecasts:
            continue
        actual = rows.groupby(["window_index", "period_index"])["actual_units"].first().reindex(forecasts.index)
        models = [m for m in forecasts.columns if m not in ("seasonal_naive", "ensemble")]
        forecasts["ensemble_with_naive"] = forecasts[[*models, "seasonal_naive"]].mean(axis=1)
        g = gold.loc[sku]
        ratio = 1.0 if g["guard_kept_baseline"] else g["final_wape"] / g["baseline_final_wape"]
        origins = int(forecast["origins"])
        out.append(Window(name, cut, horizon, str(sku), origins, forecasts.sub(actual, axis=0).abs(), ratio))
    shutil.rmtree(lab_copy)  # 80 runs: keep only their numbers
    return out, coverage


def _choose(w: Window, margin: float, every_window: bool, with_naive_mix: bool) -> str:
    """The lab's rule (int_model_selection.sql) replayed: lowest selection MAE, then the guard."""
    selection = w.errors[w.errors.index.get_level_values(0) < w.origins].dropna(subset=["seasonal_naive"])
    candidates = [c for c in selection.columns if c != "ensemble_with_naive" or with_naive_mix]
    mae = selection[candidates].mean()
    best = min(candidates, key=lambda m: (mae[m], m != "seasonal_naive", m))
    if best == "seasonal_naive":
        return best
    keep = mae[best] <= (1 - margin) * mae["seasonal_naive"]
    if every_window:
        per_window = selection.groupby(level=0).sum()
        keep = keep and bool((per_window[best] < per_window["seasonal_naive"]).all())
    return best if keep else "seasonal_naive"


def _final_ratio(w: Window, method: str) -> float:
    final = w.errors[w.errors.index.get_level_values(0) == w.origins].dropna(subset=["seasonal_naive"])
    return 1.0 if method == "seasonal_naive" else float(final[method].sum() / final["seasonal_naive"].sum())


RULES: dict[str, Callable[[Window], str]] = {
    "shipped (margin 5%)": lambda w: _choose(w, 0.05, False, False),
    "margin 10%": lambda w: _choose(w, 0.10, False, False),
    "margin 20%": lambda w: _choose(w, 0.20, False, False),
    "beat naive in every window": lambda w: _choose(w, 0.05, True, False),
    "+ ensemble with naive": lambda w: _choose(w, 0.05, False, True),
}


def _geo(ratios: list[float]) -> float:
    return float(np.exp(np.mean(np.log(ratios))))


def _coverage(runs: list[Coverage]) -> str:
    """``cov80 / cov95`` pooled over runs (each weighted by its final-window points)."""
    points = sum(run[0] for run in runs)
    return " / ".join(f"{sum(run[0] * run[i] for run in runs) / points:.2f}" for i in (1, 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sets", default="weekly,monthly,quarterly", help="comma-separated: weekly, monthly, quarterly"
    )
    parser.add_argument("--cuts", type=int, default=0, help="cuts per set (default: weekly 20, others 10)")
    parser.add_argument("--harmonic", action="store_true", help="run with forecast.harmonic_regression: true")
    args = parser.parse_args()
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = sorted(set(sets) - set(STEP))
    if unknown:
        parser.error(f"unknown set(s) {', '.join(unknown)}: choose from {', '.join(STEP)}")
    windows: list[Window] = []
    coverage: dict[tuple[str, int], list[Coverage]] = {}  # (set, horizon) → one per run
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-rolling-") as tmp:
        for name in sets:
            for i in range(args.cuts or CUTS[name]):
                for horizon in _real.HORIZONS:
                    run_dir = Path(tmp) / "runs"
                    found, covered = _windows(name, i * STEP[name], horizon, run_dir, args.harmonic)
                    windows += found
                    coverage.setdefault((name, horizon), []).append(covered)
                    print(
                        f"  {name} cut {i * STEP[name]:>3} periods, h={horizon}: {time.monotonic() - started:5.0f} s",
                        file=sys.stderr,
                        flush=True,
                    )
    replayed = [abs(_final_ratio(w, RULES["shipped (margin 5%)"](w)) - w.gold_ratio) < 1e-6 for w in windows]
    print(
        f"{len(windows)} (series, cut, horizon) final windows; the replay of the shipped rule equals gold on "
        f"{sum(replayed)} of them"
    )
    if not all(replayed):
        sys.exit("the replay differs from gold: the rules below would not be comparable")
    groups = sorted({(w.set_name, w.horizon) for w in windows})
    header = "".join(f"{s[:1]}{h:>2}: {'geo':<4} {f'>{LIMIT:.2f}':<6} " for s, h in groups)
    print(f"{'rule':<28}{'geo mean':>9}{f'>{LIMIT:.2f}x':>9}{'worst':>7}   {header}")
    for label, rule in RULES.items():
        ratios = [_final_ratio(w, rule(w)) for w in windows]
        over = sum(r > LIMIT for r in ratios)
        cells = ""
        for s, h in groups:
            part = [r for r, w in zip(ratios, windows, strict=True) if (w.set_name, w.horizon) == (s, h)]
            cells += f"{s[:1]}{h:>2}: {_geo(part):.2f} {sum(r > LIMIT for r in part):>2}/{len(part):<3} "
        print(f"{label:<28}{_geo(ratios):>9.3f}{over:>5}/{len(ratios):<3}{max(ratios):>7.2f}   {cells}")
    cells = "".join(f"{s[:1]}{h:>2}: {_coverage(coverage[(s, h)])}  " for s, h in groups)
    every = [run for runs in coverage.values() for run in runs]
    points = sum(run[0] for run in every)
    print(f"shipped 80% / 95% coverage, pooled: {_coverage(every)} ({points:.0f} points)   {cells}")
    print(
        f"({time.monotonic() - started:.0f} s; geo: geometric mean of final-window WAPE / seasonal naive's; "
        f"w/m/q = weekly, monthly, quarterly)"
    )


if __name__ == "__main__":
    main()
