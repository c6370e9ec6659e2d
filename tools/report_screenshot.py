"""Write a PNG screenshot of a report with headless Chromium (used for docs/report.md).

    uv run --locked python tools/report_screenshot.py [REPORT.html] [OUT.png] [--height PX]

REPORT defaults to .buildcpg/report.html (write it first with `buildcpg report`), OUT to
docs/img/report.png. Chromium opens the file offline; nothing is fetched.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from buildcpg_shared.testing import chromium_or_skip


def screenshot(report: Path, out: Path, width: int = 1200, height: int = 1500) -> Path:
    """Render ``report`` in headless Chromium at ``width`` x ``height`` and write ``out`` (PNG)."""
    chromium = chromium_or_skip()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={out.resolve()}",
                report.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", nargs="?", type=Path, default=Path(".buildcpg/report.html"))
    parser.add_argument("out", nargs="?", type=Path, default=Path("docs/img/report.png"))
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=1500)
    args = parser.parse_args(argv)
    if not args.report.is_file():
        print(f"no report at {args.report}: write it first with `buildcpg report`", file=sys.stderr)
        return 2
    print(screenshot(args.report, args.out, args.width, args.height))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
