"""The pytest plugin of every lab's own suite (entry point ``pytest11``: loaded wherever
buildcpg-shared is installed), so a lab needs no conftest.py.

Fixtures: ``lab_dir`` (the lab under test, found from the paths pytest was given and its rootdir),
``lab_run`` (the whole pipeline, once per session, on a temporary copy of the lab), ``lab_db`` and
``raw_dir`` (that copy's database and data/raw). A lab's conftest.py may still override any of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from buildcpg_shared.registry import Lab
from buildcpg_shared.testing import run_lab_copy

if TYPE_CHECKING:
    from buildcpg_shared.pipeline.runner import RunReport


def find_lab_dir(starts: Iterable[Path]) -> Path | None:
    """The first folder holding a lab.yaml and a dbt/ folder, at or above any of ``starts``."""
    for start in starts:
        start = start.resolve()
        for folder in [start, *start.parents]:
            if (folder / "lab.yaml").is_file() and (folder / "dbt").is_dir():
                return folder
    return None


@pytest.fixture(scope="session")
def lab_dir(request: pytest.FixtureRequest) -> Path:
    """The lab under test (the pipeline runs on a temporary copy of it, never on this folder)."""
    config = request.config
    invoked = config.invocation_params.dir
    starts = [invoked / arg.split("::")[0] for arg in config.args] + [config.rootpath, invoked]
    found = find_lab_dir(starts)
    if found is None:
        raise pytest.UsageError(
            f"no lab found at or above {', '.join(str(s) for s in starts)}: "
            "the lab fixtures need a folder with lab.yaml and dbt/ (run pytest on labs/<lab>/tests)"
        )
    return found


@pytest.fixture(scope="session")
def lab_run(lab_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Lab, RunReport]:
    """(lab copy, report) of a full run on the shipped sample data; fails the session if the run fails."""
    lab, report = run_lab_copy(lab_dir, tmp_path_factory.mktemp("lab"))
    steps = [(s.name, s.status, s.detail) for s in report.steps]
    assert report.ok, f"lab run failed: {report.error}; steps: {steps}"
    return lab, report


@pytest.fixture(scope="session")
def lab_db(lab_run: tuple[Lab, RunReport]) -> Path:
    """The lab copy's DuckDB file after the full run (open it read_only)."""
    return lab_run[0].paths.database()


@pytest.fixture(scope="session")
def raw_dir(lab_run: tuple[Lab, RunReport]) -> Path:
    """The lab copy's data/raw folder (same files as the shipped sample data)."""
    return lab_run[0].paths.raw_dir
