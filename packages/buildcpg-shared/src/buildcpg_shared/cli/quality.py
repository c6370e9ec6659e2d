"""``buildcpg quality LAB [--history]``: the quality score with its parts and weights, read-only."""

from __future__ import annotations

from typing import Any

import typer

from buildcpg_shared.cli.common import console, read_lab
from buildcpg_shared.errors import BuildCPGError
from buildcpg_shared.inspect.render import FORMATS, Section, emit
from buildcpg_shared.quality import store
from buildcpg_shared.report.timefmt import utc_text
from buildcpg_shared.run_record import StepRecord


def parts_section(title: str, entry: dict[str, Any]) -> Section:
    """One score as a table: part, weight, value, points, detail."""
    parts = entry["parts"]
    total = sum(p["weight"] for p in parts if p["value"] is not None) or 1
    rows = [
        [
            p["name"] + (" ⚑" if p.get("flagged") else ""),
            p["weight"],
            "n/a" if p["value"] is None else f"{p['value']:.2%}",
            "" if p["value"] is None else round(100 * p["weight"] * p["value"] / total, 2),
            p["detail"],
        ]
        for p in parts
    ]
    return Section(title, ["part", "weight", "value", "points", "detail"], rows)


def quality_cell(inspect_step: StepRecord | None) -> str:
    """The score of a run summary's Inspect step in rich markup: green when it passes, red when not."""
    quality = (inspect_step.data if inspect_step else {}).get("quality") or {}
    if quality.get("score") is None:
        return ""
    passed = quality.get("passed")
    if passed is None:  # a record without a verdict: judge by the threshold
        passed = quality.get("threshold") is None or quality["score"] >= quality["threshold"]
    return f"[{'green' if passed else 'red'}]{quality['score']:g}[/]"


def score_heading(lab_name: str, entry: dict[str, Any], *, color: bool) -> str:
    """One line: the score, green when it passes and red when it fails, and why a gated run scores 0."""
    passed = bool(entry["passed"])
    verdict = "passes" if passed else "FAILS"
    text = f"quality {entry['score']:.1f}/100, {verdict} the threshold {entry['threshold']:g}"
    if color:
        text = f"[{'green' if passed else 'red'}]{text}[/]"
    if entry.get("gate"):
        text += f": 0 because {entry['gate']}"
    return f"{lab_name}: {text} (run {entry['run_id']}, {utc_text(entry['scored_at'])})"


def quality_command(
    lab_name: str = typer.Argument(..., metavar="LAB", help="the lab"),
    show_history: bool = typer.Option(False, "--history", help="every scored run, oldest first"),
    fmt: str = typer.Option("table", "--format", "-f", help=f"output format: {', '.join(FORMATS)}"),
) -> None:
    """The lab's last quality score (0-100) with every part and weight, per lab and per gold table."""
    with read_lab(lab_name, fmt) as (lab, reader):
        latest = store.latest(reader.con)
        runs = store.history(reader.con) if show_history else []
    if not latest:
        raise BuildCPGError(f"{lab.name}: no quality score yet; run the lab first (buildcpg run {lab.name})")
    lab_entry = latest[store.LAB_SCOPE]
    heading = score_heading(lab.name, lab_entry, color=fmt == "table")
    sections = [parts_section("Lab score", lab_entry)]
    tables = [(k, v) for k, v in latest.items() if k != store.LAB_SCOPE]
    sections.append(
        Section("Gold tables", ["table", "score", "rows"], [[k, v["score"], v["row_count"]] for k, v in tables])
    )
    if show_history:
        sections.append(
            Section(
                "History",
                ["scored at", "run", "score", "threshold", "passed", "rows"],
                [
                    [utc_text(r["scored_at"]), r["run_id"], r["score"], r["threshold"], r["passed"], r["row_count"]]
                    for r in runs
                ],
            )
        )
    emit(fmt, console, sections, heading, {"lab": lab.name, "source": reader.source, "latest": latest, "history": runs})
