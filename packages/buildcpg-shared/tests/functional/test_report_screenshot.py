"""tools/report_screenshot.py never overwrites a file git tracks (docs/img/report.png) unless asked."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType

from buildcpg_shared.testing import chromium_or_skip
from conftest import WORKSPACE_ROOT

PNG_MAGIC = b"\x89PNG"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "report_screenshot", WORKSPACE_ROOT / "tools" / "report_screenshot.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_tracked_picture_is_kept_unless_forced(tmp_path: Path) -> None:
    chromium_or_skip()  # required under CI=true; elsewhere says clearly that it did not run
    tool = _tool()
    repo = tmp_path / "repo"
    (repo / "docs" / "img").mkdir(parents=True)
    tracked = repo / "docs" / "img" / "report.png"
    tracked.write_bytes(b"the picture in the docs")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "docs/img/report.png"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "picture"], check=True)
    report = repo / "report.html"
    report.write_text("<!doctype html><html><body><h1>report</h1></body></html>")

    assert tool.main([str(report), str(tracked), "--height", "200"]) == 2
    assert tracked.read_bytes() == b"the picture in the docs"  # untouched
    untracked = repo / "docs" / "img" / "new.png"
    assert tool.main([str(report), str(untracked), "--height", "200"]) == 0
    assert untracked.read_bytes().startswith(PNG_MAGIC)
    assert tool.main([str(report), str(tracked), "--height", "200", "--force"]) == 0
    assert tracked.read_bytes().startswith(PNG_MAGIC)
