"""Coordinates of the score-history chart (drawn as inline SVG by the report template)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT, PAD = 560, 160, 28


@dataclass
class Chart:
    """Points of a polyline on a 0-100 scale, and the threshold line."""

    width: int
    height: int
    points: list[tuple[float, float, float, str]]  # x, y, score, label
    threshold_y: float | None
    polyline: str
    grid: list[tuple[float, int]]


def score_chart(history: list[dict[str, Any]], threshold: float | None) -> Chart:
    """Place each run's score: x evenly by run, y linear in the score (0 at the bottom, 100 at the top)."""

    def y(score: float) -> float:
        return round(PAD / 2 + (HEIGHT - PAD) * (1 - score / 100), 1)

    n = len(history)
    span = WIDTH - 2 * PAD
    points = [
        (
            round(PAD + (span * i / (n - 1) if n > 1 else span / 2), 1),
            y(float(h["score"])),
            float(h["score"]),
            str(h["scored_at"])[:16],
        )
        for i, h in enumerate(history)
    ]
    return Chart(
        WIDTH,
        HEIGHT,
        points,
        None if threshold is None else y(threshold),
        " ".join(f"{px},{py}" for px, py, _, _ in points),
        [(y(v), v) for v in (0, 50, 100)],
    )
