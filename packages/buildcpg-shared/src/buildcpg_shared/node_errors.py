"""dbt's own error line of a failed node (``Binder Error: ...``), not its wrapper or the log's last lines."""

from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path

# "Binder Error: ...", "Catalog Error: ...", "Parser Error: ...", "Conversion Error: ..." (DuckDB), and
# dbt's own "Compilation Error ..." / "Database Error ..." headings when nothing more precise follows.
_ENGINE_ERROR = re.compile(r"^\s*([A-Z][A-Za-z ]*(?:Error|Exception)\s*:\s*\S.*)$")
_WRAPPER = re.compile(r"^\s*(Runtime|Database|Compilation) Error in \w+ ")


def dbt_error_line(message: object) -> str:
    """The most precise line of a dbt node message: the engine's error line when there is one, else the first
    line that is not dbt's "Runtime Error in model x (path)" wrapper, else the first line."""
    lines = [line.strip() for line in str(message or "").splitlines() if line.strip()]
    if not lines:
        return ""
    for line in lines:
        match = _ENGINE_ERROR.match(line)
        if match and not _WRAPPER.match(line):
            return match.group(1).strip()
    return next((line for line in lines if not _WRAPPER.match(line)), lines[0])


def kept_run_results(target: Path, command: str) -> Path:
    """Where the ``run_results.json`` of the last ``dbt <command>`` is kept (the next command overwrites dbt's own)."""
    return target / f"run_results.{command}.json"


def keep_run_results(target: Path, command: str) -> None:
    """Keep a copy of dbt's ``run_results.json`` per command (``run``, ``test``, ``build``, ...), so model timings
    and errors of ``dbt run`` or ``dbt build`` survive the commands that follow; never fails the run."""
    with contextlib.suppress(OSError):
        shutil.copyfile(target / "run_results.json", kept_run_results(target, command))
