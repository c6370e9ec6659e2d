"""Write a PNG screenshot of a report with headless Chromium (used for docs/report.md).

    uv run --locked python tools/report_screenshot.py [REPORT.html] [OUT.png] [--width PX] [--height PX] [--force]

REPORT defaults to .buildcpg/report.html (write it first with `buildcpg report`), OUT to
.buildcpg/report.png. A file git tracks (docs/img/report.png) is overwritten only with --force.
Chromium opens the file offline; nothing is fetched.
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


def is_tracked(path: Path) -> bool:
    """Does git track ``path`` (False outside a git work tree or without git)?"""
    try:
        done = subprocess.run(
            ["git", "ls-files", "--error-unmatch", path.name],
            cwd=path.resolve().parent,
            capture_output=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", nargs="?", type=Path, default=Path(".buildcpg/report.html"))
    parser.add_argument("out", nargs="?", type=Path, default=Path(".buildcpg/report.png"))
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=1500)
    parser.add_argument("--force", action="store_true", help="overwrite OUT even when git tracks it")
    args = parser.parse_args(argv)
    if args.out.exists() and is_tracked(args.out) and not args.force:
        print(f"{args.out} is tracked by git: pass --force to overwrite it", file=sys.stderr)
        return 2
    if not args.report.is_file():
        print(f"no report at {args.report}: write it first with `buildcpg report`", file=sys.stderr)
        return 2
    print(screenshot(args.report, args.out, args.width, args.height))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
