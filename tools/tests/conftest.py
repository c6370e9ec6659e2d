"""Airflow offline, set up before Airflow is imported: its home, a workspace copy, its dags folder.

The settings come from PITFALLS.md: AIRFLOW_HOME in a temp folder, no examples, DAGS_FOLDER = the folder
of the DAG file (else "dag is not serialized"), then `airflow db migrate` (in the fixture).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from buildcpg_shared.testing import copy_workspace, keep_only_labs

SOURCE_ROOT = Path(__file__).resolve().parents[2]
_TMP = Path(tempfile.mkdtemp(prefix="buildcpg-airflow-"))
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
WORKSPACE = copy_workspace(SOURCE_ROOT, _TMP / "ws")
keep_only_labs(WORKSPACE, ["lab1_sales_performance"])  # the DAG under test: lab 1 and a broken clone
AIRFLOW_HOME = _TMP / "airflow-home"

os.environ.update(
    AIRFLOW_HOME=str(AIRFLOW_HOME),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__CORE__DAGS_FOLDER=str(WORKSPACE / "tools"),
    BUILDCPG_WORKSPACE=str(WORKSPACE),
)
os.environ.pop("VIRTUAL_ENV", None)
