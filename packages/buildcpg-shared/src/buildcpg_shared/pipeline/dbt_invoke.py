"""Calling dbt in-process through ``dbtRunner``: dbt is imported once per lab run.

The import (seconds) and the parse are paid once; ``build`` (or ``seed``/``run``/``test``) and
``source freshness`` reuse the parsed manifest. ``target/`` is kept between runs for partial parsing,
so the env values given to dbt are absolute and the same on every run; they are set only around each
invocation (``process_env.exported``), never left in ``os.environ``.

The runner's own calls write ``logs/dbt.log`` at INFO, not dbt's default DEBUG (every SQL statement),
and print at WARN: the runner prints one line per model itself, the same under ``buildcpg run`` and
``make run``. ``DBT_LOG_LEVEL_FILE``, ``DBT_LOG_LEVEL`` or ``DBT_DEBUG`` in the environment wins;
``buildcpg-lab dbt`` (``invoke_raw``) keeps dbt's defaults.

lab.yaml reaches dbt through files plain dbt reads too: the sources (``dbt_sources``) and the vars
(``dbt_project_vars``), so the runner passes no ``--vars`` and shares dbt's partial-parse state with
``make dbt`` and a plain ``dbt``. A ``--full-refresh`` is told to Python models (which cannot read
dbt's flag) by the env var ``BUILDCPG_FULL_REFRESH`` (``true``/``false``, always set): an env var a
model's yml reads makes dbt re-parse that file only, where a changed var re-parses everything.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from buildcpg_shared.config.lab_config import LabConfig, load_lab_config
from buildcpg_shared.errors import StepError
from buildcpg_shared.node_errors import dbt_error_line, keep_run_results
from buildcpg_shared.pipeline.dbt_package import PACKAGE_ENV, package_dir, package_installed, uses_package
from buildcpg_shared.pipeline.dbt_progress import NodeLine, NodeProgress
from buildcpg_shared.pipeline.dbt_project_vars import has_generated_vars, write_project_vars
from buildcpg_shared.pipeline.dbt_sources import write_sources
from buildcpg_shared.pipeline.one_shot_gc import freeze_long_lived
from buildcpg_shared.pipeline.process_env import exported
from buildcpg_shared.registry.paths import LabPaths


def dbt_threads(labs_at_once: int = 1) -> int:
    """dbt ``threads`` for one lab run: the machine's cores shared among the labs running at once (at least 1)."""
    return max(1, (os.cpu_count() or 1) // max(1, labs_at_once))


FULL_REFRESH_ENV = "BUILDCPG_FULL_REFRESH"  # "true" on a --full-refresh run, else "false" (docs/lab-runner.md)


def dbt_call_env(paths: LabPaths, *, full_refresh: bool = False) -> dict[str, str]:
    """The env vars of every dbt call on a lab (the runner's, ``make dbt``'s, a ``make shell``'s): its
    absolute paths and database, the shared dbt package, and ``BUILDCPG_FULL_REFRESH``."""
    return {
        **paths.dbt_env(),
        PACKAGE_ENV: str(package_dir()),
        FULL_REFRESH_ENV: "true" if full_refresh else "false",
    }


TEST_KINDS = frozenset({"test", "unit_test"})  # the Test step's nodes of a ``dbt build``; all others: Transform
_FAILED = ("error", "fail", "runtime error")


@dataclass(frozen=True)
class NodeOutcome:
    """One node of a dbt command: its kind (dbt's resource type), name, status, time, rows, failure line."""

    kind: str
    name: str
    status: str
    seconds: float = 0.0
    rows: int = 0
    failure: str = ""  # "name (file): dbt's error line" when the node failed


@dataclass
class DbtOutcome:
    """Summary of one dbt command (or of the nodes of one kind in it, see ``only``)."""

    success: bool
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    rows: int = 0
    nodes: list[NodeOutcome] = field(default_factory=list)
    error: str = ""  # the command failed without node results (the message's first line)

    def add(self, node: NodeOutcome) -> None:
        self.nodes.append(node)
        self.counts[node.status] = self.counts.get(node.status, 0) + 1
        self.rows += node.rows
        if node.failure:
            self.failures.append(node.failure)

    def only(self, kinds: Callable[[str], bool]) -> DbtOutcome:
        """The nodes whose kind ``kinds`` accepts, as an outcome of their own (a command-level error stays)."""
        part = DbtOutcome(success=not self.error, error=self.error, failures=[self.error] if self.error else [])
        for node in self.nodes:
            if kinds(node.kind):
                part.add(node)
        return part

    @property
    def seconds(self) -> float:
        """The nodes' summed execution time (threads overlap: a share, not a wall time)."""
        return sum(n.seconds for n in self.nodes)


class DbtSession:
    """One dbt import and one parsed manifest for a whole lab run."""

    def __init__(
        self,
        paths: LabPaths,
        *,
        threads: int | None = None,
        full_refresh: bool = False,
        on_node: Callable[[NodeLine], None] | None = None,
        config: LabConfig | None = None,
    ) -> None:
        self.env = dbt_call_env(paths, full_refresh=full_refresh)  # set around each invocation only
        self.paths = paths
        self.threads = threads or dbt_threads()  # None: every core (a lab running alone)
        self.dbt_vars: dict[str, object] = {}  # lab.yaml's vars, only for a project without the generated block
        try:
            from dbt.cli.main import dbtRunner  # imported here: a run that skips dbt never pays for it
        except ImportError as err:
            raise StepError(
                f"dbt is not installed in this Python ({err.name}); run the lab in its own venv: "
                f"`make run` in labs/{paths.name} or `buildcpg run {paths.name}`"
            ) from err
        freeze_long_lived()  # dbt's modules live as long as the process (one_shot_gc)

        self._progress = NodeProgress(on_node) if on_node else None
        self._callbacks = [self._progress] if self._progress else []  # per-model progress (dbt_progress)
        self._runner_cls = dbtRunner
        self._runner = dbtRunner(callbacks=self._callbacks)
        self._manifest: Any = None
        self._prepare_project(config or load_lab_config(paths.lab_yaml))

    def _prepare_project(self, config: LabConfig) -> None:
        """Before dbt parses: sources and vars from lab.yaml, and the shared dbt package installed (offline)."""
        write_sources(self.paths, config)
        write_project_vars(self.paths, config)
        if not has_generated_vars(self.paths):  # an adopted project's own dbt_project.yml: vars on the command line
            self.dbt_vars = config.dbt_vars()
        if uses_package(self.paths) and not package_installed(self.paths):
            # --upgrade: resolve packages.yml again, not a package-lock.yml written with another path
            deps = self._call(["deps", "--upgrade", *self._common(), *self._log_flags()])
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

    @staticmethod
    def _log_flags() -> list[str]:
        """``dbt.log`` at INFO, the console at WARN, unless the user chose (``DBT_LOG_LEVEL_FILE``,
        ``DBT_LOG_LEVEL``, ``DBT_DEBUG``). The runner prints its own line per model (``reporter.node``),
        so dbt's INFO lines would say each model twice; warnings, errors and failed tests still print."""
        if os.environ.get("DBT_DEBUG", "").lower() in ("1", "true", "yes"):
            return []
        flags = [] if os.environ.get("DBT_LOG_LEVEL_FILE") else ["--log-level-file", "info"]
        return flags + ([] if os.environ.get("DBT_LOG_LEVEL") else ["--log-level", "warn"])

    def _parse(self) -> Any:
        if self._manifest is None:
            parsed = self._call(["parse", *self._common(), *self._log_flags()])
            if not parsed.success:
                raise StepError(f"dbt parse failed: {parsed.exception or 'see the dbt output above'}")
            self._manifest = parsed.result
            freeze_long_lived()  # so does the manifest
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
        return self._call([*args, *self._common(), *self._log_flags()])

    def invoke_raw(self, args: list[str]) -> bool:
        """Run any dbt command line (for ``buildcpg-lab dbt``); True when it succeeded."""
        result = self._call([*args, *self._common()] if args and args[0] not in ("--help", "-h", "--version") else args)
        return bool(result.success)

    def built_node_count(self) -> int:
        """How many seeds and models ``dbt build`` (``build``) materializes: the total its progress counts to."""
        return sum(
            1
            for n in self._parse().nodes.values()
            if getattr(n, "resource_type", None) in ("seed", "model")
            and getattr(getattr(n, "config", None), "materialized", "") != "ephemeral"
        )

    def build(self, extra: list[str] | None = None) -> DbtOutcome:
        """``dbt build`` without snapshots (the runner never ran them): seeds, models and tests in dbt's order.

        dbt skips the models downstream of a failed error-severity test. Progress lines count only the
        seeds and models, ``[i/n]`` as ``dbt run`` numbers them.
        """
        if self._progress is not None:
            self._progress.renumber(self.built_node_count())
        try:
            return self.command(["build"], ["--exclude-resource-type", "snapshot", *(extra or [])])
        finally:
            if self._progress is not None:
                self._progress.renumber(None)

    def command(self, name: list[str], extra: list[str] | None = None) -> DbtOutcome:
        """Run ``dbt <name>`` and summarise its node results.

        ``--no-write-json``: dbt would write ``manifest.json`` again after every command (0.3 s for
        lab 1), the same manifest ``parse`` wrote; the command's own artifact (``run_results.json``,
        or ``sources.json`` for ``source freshness``) is written here from the in-process result,
        with dbt's own ``write``, so the files are what dbt writes.
        """
        args = [*name, "--threads", str(self.threads), "--no-write-json", *(extra or [])]
        result = self._invoke(args)
        target = self.paths.dbt_dir / "target"
        if result.result is not None and hasattr(result.result, "write"):
            freshness = name[:2] == ["source", "freshness"]
            result.result.write(str(target / ("sources.json" if freshness else "run_results.json")))
            if not freshness:  # run_results.json is this command's: keep a copy (node_errors.py)
                keep_run_results(target, name[0])
        outcome = DbtOutcome(success=bool(result.success))
        if result.result is None:
            message = str(result.exception) if result.exception else "no result"
            outcome.error = (message.splitlines()[0] if message else "") or "dbt failed"
            outcome.failures.append(outcome.error)
            return outcome
        for node_result in getattr(result.result, "results", []):
            outcome.add(node_outcome(node_result))
        return outcome


def node_outcome(node_result: Any) -> NodeOutcome:
    """One of dbt's node results (``RunResult``) as a ``NodeOutcome``."""
    status = str(getattr(node_result.status, "value", node_result.status))
    node = getattr(node_result, "node", None)
    name = str(getattr(node, "name", None) or getattr(node, "unique_id", "?"))
    response = getattr(node_result, "adapter_response", None) or {}
    affected = response.get("rows_affected") if isinstance(response, dict) else None
    failure = ""
    if status in _FAILED:
        where = getattr(node, "original_file_path", "") if node is not None else ""
        line = dbt_error_line(getattr(node_result, "message", ""))
        failure = f"{name}{f' ({where})' if where else ''}: {line or status}"
    return NodeOutcome(
        kind=str(getattr(getattr(node, "resource_type", None), "value", getattr(node, "resource_type", "")) or ""),
        name=name,
        status=status,
        seconds=float(getattr(node_result, "execution_time", 0.0) or 0.0),
        rows=affected if isinstance(affected, int) and affected > 0 else 0,
        failure=failure,
    )
