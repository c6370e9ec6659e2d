"""The test helpers copy a lab's shipped sample data only: a user's own raw drops never change a test."""

from __future__ import annotations

import subprocess
from pathlib import Path

from buildcpg_shared.testing import copy_lab


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_copy_lab_leaves_out_raw_files_git_does_not_track(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    raw = repo / "labs" / "lab9_demo" / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "sales_2026_01.csv").write_text("a\n1\n")
    (repo / "labs" / "lab9_demo" / "lab.yaml").write_text("name: lab9_demo\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    (raw / "sales_2099_12.csv").write_text("a\n2\n")  # a user's own drop, not part of the sample
    (repo / "labs" / "lab9_demo" / "notes.txt").write_text("untracked files outside data/raw are kept\n")

    copied = copy_lab(repo / "labs" / "lab9_demo", tmp_path / "copy")

    assert sorted(p.name for p in (copied / "data" / "raw").iterdir()) == ["sales_2026_01.csv"]
    assert (copied / "lab.yaml").exists() and (copied / "notes.txt").exists()


def test_copy_lab_outside_git_copies_every_raw_file(tmp_path: Path) -> None:
    raw = tmp_path / "lab9_demo" / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "a.csv").write_text("a\n1\n")
    (raw / "b.csv").write_text("a\n2\n")

    copied = copy_lab(tmp_path / "lab9_demo", tmp_path / "copy")

    assert sorted(p.name for p in (copied / "data" / "raw").iterdir()) == ["a.csv", "b.csv"]
