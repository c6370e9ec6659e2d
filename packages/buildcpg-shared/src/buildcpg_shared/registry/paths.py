"""Path helpers for one lab: every path a lab uses is computed here, nowhere else."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


def db_env_var(lab_name: str) -> str:
    """Name of the env var that overrides a lab's DuckDB path (read by its profiles.yml)."""
    return f"BUILDCPG_{lab_name.upper()}_DB"


@dataclass(frozen=True)
class LabPaths:
    """Absolute paths of one lab, rooted at its folder (``labs/<lab>``)."""

    name: str
    root: Path

    @classmethod
    def for_dir(cls, lab_dir: Path) -> LabPaths:
        root = lab_dir.resolve()
        return cls(name=root.name, root=root)

    @property
    def lab_yaml(self) -> Path:
        return self.root / "lab.yaml"

    @property
    def dbt_dir(self) -> Path:
        return self.root / "dbt"

    @property
    def profiles_yml(self) -> Path:
        return self.dbt_dir / "profiles.yml"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def default_database(self) -> Path:
        return self.data_dir / f"{self.name}.duckdb"

    @property
    def venv(self) -> Path:
        return self.root / ".venv"

    @property
    def venv_python(self) -> Path:
        return self.venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")

    @property
    def serving_file(self) -> Path:
        return self.data_dir / "serving" / f"{self.name}.duckdb"

    @property
    def publish_dir(self) -> Path:
        """Publish's own files, outside the folder BI tools read: temporaries and the readers' metadata."""
        return self.data_dir / ".publish"

    @property
    def serving_meta_file(self) -> Path:
        """The platform metadata published beside the serving copy (quality, tests, ledger) for CLI readers."""
        return self.publish_dir / f"{self.name}.meta.duckdb"

    @property
    def damaged_dir(self) -> Path:
        """Where ``--rebuild`` moves a damaged database (never deleted)."""
        return self.data_dir / "damaged"

    @property
    def state_marker(self) -> Path:
        """With shared storage: the state snapshot the local database came from or was uploaded as."""
        return self.data_dir / ".state_version"

    @property
    def run_results_dir(self) -> Path:
        """dbt's ``run_results.json`` of each run, kept per run id for run-time trends (git-ignored, pruned)."""
        return self.data_dir / ".buildcpg_run_results"

    @property
    def lock_file(self) -> Path:
        return self.data_dir / ".buildcpg.lock"

    @property
    def last_run_file(self) -> Path:
        return self.data_dir / "last_run.json"

    @property
    def template_record(self) -> Path:
        """What ``new-lab`` rendered (context and file digests), read by ``upgrade-lab``; committed."""
        return self.root / ".buildcpg-template.json"

    def shown(self, path: Path) -> str:
        """A path of this lab as a person reads it: ``labs/<lab>/…`` from the workspace root."""
        try:
            return str(path.resolve().relative_to(self.root.parent.parent))
        except ValueError:
            return str(path)

    @property
    def db_env_var(self) -> str:
        return db_env_var(self.name)

    def database(self, environ: Mapping[str, str] | None = None) -> Path:
        """The DuckDB file this lab writes: the env override if set, else data/<lab>.duckdb.

        A relative override is taken relative to the lab folder (never to the current directory),
        so the same value means the same file from anywhere.
        """
        env = os.environ if environ is None else environ
        value = env.get(self.db_env_var)
        if not value:
            return self.default_database
        path = Path(value).expanduser()
        return (path if path.is_absolute() else self.root / path).resolve()

    def dbt_env(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """Env vars to export before calling dbt: absolute values, stable from run to run."""
        return {
            self.db_env_var: str(self.database(environ)),
            "DBT_PROFILES_DIR": str(self.dbt_dir),
            "DBT_PROJECT_DIR": str(self.dbt_dir),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_VERSION_CHECK": "false",
        }
