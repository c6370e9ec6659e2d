"""run --all starts the labs that took longest last time first (LPT scheduling)."""

from __future__ import annotations

import json
from pathlib import Path

from buildcpg_shared.orchestrate.parallel import longest_first
from buildcpg_shared.registry import Lab


def _lab(root: Path, name: str, duration: float | None) -> Lab:
    lab_dir = root / name
    (lab_dir / "data").mkdir(parents=True)
    if duration is not None:
        (lab_dir / "data" / "last_run.json").write_text(json.dumps({"duration_s": duration}))
    return Lab.from_dir(lab_dir)


def test_longest_last_run_starts_first_and_unknown_labs_last(tmp_path: Path) -> None:
    short, never, long, broken = (
        _lab(tmp_path, "lab1_short", 2.0),
        _lab(tmp_path, "lab2_never", None),
        _lab(tmp_path, "lab3_long", 9.5),
        _lab(tmp_path, "lab4_broken", 1.0),
    )
    (broken.paths.last_run_file).write_text("{not json")
    ordered = [lab.name for lab in longest_first([short, never, long, broken])]
    assert ordered == ["lab3_long", "lab1_short", "lab2_never", "lab4_broken"]
