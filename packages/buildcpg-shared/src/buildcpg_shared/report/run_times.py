"""Run-time trends of a lab: its models' total dbt time per run and its slowest models over the last runs
(from the ``run_results.json`` kept per run), with a flag on each model whose time grew over ``SLOWER_FACTOR``
times its median of the runs before."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import altair as alt

from buildcpg_shared.quality.run_times import kept_runs
from buildcpg_shared.report.charts import WIDTH, to_svg, utc_iso

TREND_RUNS = 30
SLOWEST = 5
SLOWER_FACTOR = 2.0  # flagged: newest time > 2 x the median of the runs before it ...
MIN_GROWTH_S = 0.5  # ... and at least half a second more (a 0.02 s model doubling is noise)
MIN_HISTORY = 3  # runs before the newest needed for a median


def _model_times(results: list[dict[str, Any]]) -> dict[str, float]:
    return {
        str(r["unique_id"]): float(r.get("execution_time") or 0.0)
        for r in results
        if str(r.get("unique_id", "")).startswith("model.")
    }


def run_time_trends(kept_dir: Path, nodes: dict[str, Any], runs: int = TREND_RUNS) -> dict[str, Any]:
    """``{"runs": [{"run_id", "at", "total"}], "models": [...], "flagged": [...], "svg": ""}``: every model
    with its times (None where it did not run), median of the runs before the newest, newest time and whether
    it is flagged; slowest (by newest time) first."""
    kept = kept_runs(kept_dir, runs)
    out: dict[str, Any] = {"runs": [], "models": [], "flagged": [], "svg": ""}
    if not kept:
        return out
    per_run = [(run_id, at, _model_times(results)) for run_id, at, results in kept]
    out["runs"] = [{"run_id": r, "at": at, "total": round(sum(t.values()), 3)} for r, at, t in per_run]
    uids = sorted({uid for _r, _a, times in per_run for uid in times})
    for uid in uids:
        times = [t.get(uid) for _r, _a, t in per_run]
        before = [x for x in times[:-1] if x is not None]
        latest = times[-1]
        median = statistics.median(before) if len(before) >= MIN_HISTORY else None
        flagged = (
            latest is not None
            and median is not None
            and latest > SLOWER_FACTOR * median
            and latest - median >= MIN_GROWTH_S
        )
        node = nodes.get(uid, {})
        out["models"].append(
            {
                "name": node.get("name") or uid.rsplit(".", 1)[-1],
                "file": node.get("original_file_path", ""),
                "times": times,
                "latest": latest,
                "median": median,
                "ratio": (latest / median) if latest is not None and median else None,
                "flagged": flagged,
            }
        )
    out["models"].sort(key=lambda m: -(m["latest"] if m["latest"] is not None else -1.0))
    out["flagged"] = [m for m in out["models"] if m["flagged"]]
    out["svg"] = _trend_svg(out)
    return out


def _trend_svg(trends: dict[str, Any]) -> str:
    """Two charts side by side on a dated axis: the lab's total model time per run, its slowest models per run."""
    runs = trends["runs"]
    if len(runs) < 2:
        return ""
    x = alt.X("at", type="temporal", title="run (UTC)", scale=alt.Scale(type="utc"))
    x = x.axis(format="%b %d %H:%M", labelAngle=-30, tickCount=6)
    legend = alt.Legend(title=None, orient="bottom", columns=2, labelLimit=220)
    totals = [{"at": utc_iso(r["at"]), "seconds": r["total"], "series": "all models"} for r in runs]
    total = (
        alt.Chart(alt.Data(values=totals))
        .mark_line(point=True)
        .encode(
            x=x, y=alt.Y("seconds", type="quantitative", title="seconds"), color=alt.Color("series:N", legend=legend)
        )
        .properties(width=WIDTH * 0.8, height=150, title="dbt model time per run")
    )
    rows = [
        {"at": utc_iso(r["at"]), "seconds": t, "series": m["name"] + (" ⚑ slower" if m["flagged"] else "")}
        for m in trends["models"][:SLOWEST]
        for r, t in zip(runs, m["times"], strict=True)
        if t is not None
    ]
    slowest = (
        alt.Chart(alt.Data(values=rows))
        .mark_line(point=True)
        .encode(
            x=x, y=alt.Y("seconds", type="quantitative", title="seconds"), color=alt.Color("series:N", legend=legend)
        )
        .properties(width=WIDTH * 0.8, height=150, title=f"its {SLOWEST} slowest models per run")
    )
    return to_svg(alt.hconcat(total, slowest).resolve_scale(color="independent", y="independent"))
