"""Calling dbt in-process through ``dbtRunner``: dbt is imported once per lab run.

The import (seconds) and the parse are paid once; ``run``, ``test`` and ``source freshness``
reuse the parsed manifest. ``target/`` is kept between runs for partial parsing, so the env
values given to dbt are absolute and the same on every run; they are set only around each
invocation (``process_env.exported``), never left in ``os.environ``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from buildcpg_shared.errors import StepError
from buildcpg_shared.node_errors import dbt_error_line, keep_run_results
from buildcpg_shared.pipeline.dbt_package import PACKAGE_ENV, package_dir, package_installed, uses_package
from buildcpg_shared.pipeline.dbt_progress import NodeLine, NodeProgress
from buildcpg_shared.pipeline.dbt_sources import write_sources
from buildcpg_shared.pipeline.process_env import exported
from buildcpg_shared.registry.paths import LabPaths


@dataclass
class DbtOutcome:
    """Summary of one dbt command."""

    success: bool
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    rows: int = 0


class DbtSession:
    """One dbt import and one parsed manifest for a whole lab run."""

    def __init__(
        self,
        paths: LabPaths,
        *,
        threads: int = 1,
        dbt_vars: Mapping[str, object] | None = None,
        on_node: Callable[[NodeLine], None] | None = None,
    ) -> None:
        self.env = {**paths.dbt_env(), PACKAGE_ENV: str(package_dir())}  # set around each invocation only
        self.paths = paths
        self.threads = threads
        self.dbt_vars = dict(dbt_vars or {})
        try:
            from dbt.cli.main import dbtRunner  # imported here: a run that skips dbt never pays for it
        except ImportError as err:
            raise StepError(
                f"dbt is not installed in this Python ({err.name}); run the lab in its own venv: "
                f"`make run` in labs/{paths.name} or `buildcpg run {paths.name}`"
            ) from err

        self._callbacks = [NodeProgress(on_node)] if on_node else []  # per-model progress (dbt_progress)
        self._runner_cls = dbtRunner
        self._runner = dbtRunner(callbacks=self._callbacks)
        self._manifest: Any = None
        self._prepare_project()

    def _prepare_project(self) -> None:
        """Before dbt parses: sources from lab.yaml, and the shared dbt package installed (offline)."""
        write_sources(self.paths)
        if uses_package(self.paths) and not package_installed(self.paths):
            # --upgrade: resolve packages.yml again, not a package-lock.yml written with another path
            deps = self._call(["deps", "--upgrade", *self._common()])
            if not deps.success or not package_installed(self.paths):
                raise StepError(f"dbt deps could not install the shared package {package_dir()}: {deps.exception}")

    def close(self) -> None:
        """Release dbt-duckdb's cached connection, so this process can reopen the file (even read_only)."""
        try:
            from dbt.adapters.duckdb.connections import DuckDBConnectionManager
        except ImportError:  # another adapter: nothing cached by us to release
            return
        DuckDBConnectionManager.close_all_connections()

    def _call(self, args: list[str]) -> Any:
        """One dbt invocation with this lab's env vars set for its length only."""
        with exported(self.env):
            return self._runner.invoke(args)

    def _common(self) -> list[str]:
        common = ["--project-dir", str(self.paths.dbt_dir), "--profiles-dir", str(self.paths.dbt_dir)]
        if self.dbt_vars:  # e.g. the freshness SLA of lab.yaml, read by the sources yml through var()
            common += ["--vars", json.dumps(self.dbt_vars, sort_keys=True)]
        return common

    def _parse(self) -> Any:
        if self._manifest is None:
            parsed = self._call(["parse", *self._common()])
            if not parsed.success:
                raise StepError(f"dbt parse failed: {parsed.exception or 'see the dbt output above'}")
            self._manifest = parsed.result
            self._runner = self._runner_cls(manifest=self._manifest, callbacks=self._callbacks)
        return self._manifest

    def has_seeds(self) -> bool:
        """Does the project define seeds (e.g. an adopted dbt project)? Then Transform runs ``dbt seed`` first."""
        return any(getattr(n, "resource_type", None) == "seed" for n in self._parse().nodes.values())

    def select_models(self, select: list[str]) -> list[Any]:
        """The model nodes a dbt selection picks (``dbt ls --select …``, on the parsed manifest)."""
        listed = self._invoke(["ls", "--resource-type", "model", "--output", "json", "--select", *select])
        if not listed.success:
            raise StepError(f"dbt ls --select {' '.join(select)} failed: {listed.exception or 'see the dbt output'}")
        ids = [json.loads(line)["unique_id"] for line in listed.result or []]
        return [self._parse().nodes[i] for i in ids]

    def _invoke(self, args: list[str]) -> Any:
        self._parse()
        return self._call([*args, *self._common()])

    def invoke_raw(self, args: list[str]) -> bool:
        """Run any dbt command line (for ``buildcpg-lab dbt``); True when it succeeded."""
        result = self._call([*args, *self._common()] if args and args[0] not in ("--help", "-h", "--version") else args)
        return bool(result.success)

    def command(self, name: list[str], extra: list[str] | None = None) -> DbtOutcome:
        """Run ``dbt <name>`` and summarise its node results."""
        args = [*name, "--threads", str(self.threads), *(extra or [])]
        result = self._invoke(args)
        keep_run_results(self.paths.dbt_dir / "target", name[0])
        outcome = DbtOutcome(success=bool(result.success))
        if result.result is None:
            message = str(result.exception) if result.exception else "no result"
            outcome.failures.append(message.splitlines()[0] if message else "dbt failed")
            return outcome
        for node_result in getattr(result.result, "results", []):
            status = str(getattr(node_result.status, "value", node_result.status))
            outcome.counts[status] = outcome.counts.get(status, 0) + 1
            response = getattr(node_result, "adapter_response", None) or {}
            affected = response.get("rows_affected") if isinstance(response, dict) else None
            if isinstance(affected, int) and affected > 0:
                outcome.rows += affected
            if status in ("error", "fail", "runtime error"):
                node = getattr(node_result, "node", None)
                label = getattr(node, "name", None) or getattr(node, "unique_id", "?")
                where = getattr(node, "original_file_path", "") if node is not None else ""
                line = dbt_error_line(getattr(node_result, "message", ""))
                outcome.failures.append(f"{label}{f' ({where})' if where else ''}: {line or status}")
        return outcome
