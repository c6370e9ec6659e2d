"""The process that draws the report's charts: ``python -m buildcpg_shared.report.svg_worker`` reads one Vega-Lite
spec (JSON) a line from stdin and writes, in the same order, one line to stdout: ``{"svg": ...}`` or
``{"error": ...}``. Its own process: vl-convert holds the GIL while its engine starts (about 0.6 s), which
would stall the report reading the labs in the meantime; here it starts as soon as the report does."""

from __future__ import annotations

import json
import sys
from typing import Any

import vl_convert as vlc


def svg_of(spec: dict[str, Any]) -> str:
    """The chart as one inline ``<svg>`` element (drawn now, in this process)."""
    svg = vlc.vegalite_to_svg(spec)
    return svg[svg.index("<svg") :]


_WARM_UP: dict[str, Any] = {"data": {"values": [{"x": 0}]}, "mark": "point", "encoding": {"x": {"field": "x"}}}


def main() -> int:
    svg_of(_WARM_UP)  # starts vl-convert's engine while the report is still reading the labs
    for line in sys.stdin:
        try:
            out = {"svg": svg_of(json.loads(line))}
        except Exception as err:  # a spec vl-convert refuses: the report says which, the next chart still draws
            lines = [line.strip() for line in str(err).splitlines() if line.strip()]
            out = {"error": " ".join([type(err).__name__ + ":", *lines[:2]])}  # vl-convert's 2nd line says why
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
