"""``buildcpg doctor``: is the workspace healthy? Lock, lab venvs, isolation, profiles."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from buildcpg_shared.cli.common import console
from buildcpg_shared.errors import BuildCPGError, ConfigError
from buildcpg_shared.orchestrate.graph import lab_graph
from buildcpg_shared.orchestrate.uv import check_lab_venv, installed_versions, run_uv, uv_problem
from buildcpg_shared.pipeline.dbt_project_vars import project_vars_drift
from buildcpg_shared.pipeline.dbt_sources import is_generated, sources_drift, sources_path
from buildcpg_shared.registry import Lab, Workspace
from buildcpg_shared.store import ObjectStore

KEY_PACKAGES = ["dbt-core", "dbt-duckdb", "duckdb", "buildcpg-shared"]
BROKEN = "[red]broken[/]"
_ENV_VAR = re.compile(r"env_var\(\s*['\"]([^'\"]+)['\"]\s*(?:,\s*['\"]([^'\"]*)['\"]\s*)?\)")


def profile_database(lab: Lab) -> tuple[str, Path | None, str]:
    """(env var, default path resolved like dbt run from the dbt folder, problem) of a lab's profile."""
    profile = lab.name
    try:
        project = yaml.safe_load((lab.paths.dbt_dir / "dbt_project.yml").read_text(encoding="utf-8")) or {}
        profile = str(project.get("profile") or lab.name)  # an adopted dbt project keeps its own profile name
        data = yaml.safe_load(lab.paths.profiles_yml.read_text(encoding="utf-8")) or {}
        target_name = data[profile]["target"]
        raw_path = str(data[profile]["outputs"][target_name]["path"])
    except (OSError, KeyError, TypeError, AttributeError, yaml.YAMLError) as err:
        return "", None, f"{lab.paths.profiles_yml}: no path for profile {profile!r} ({err})"
    match = _ENV_VAR.search(raw_path)
    if not match:
        return (
            "",
            None,
            f"{lab.paths.profiles_yml}: path must come from env_var('{lab.paths.db_env_var}', '<relative default>')",
        )
    var, default = match.group(1), match.group(2)
    if var != lab.paths.db_env_var:
        return var, None, f"{lab.paths.profiles_yml}: uses {var}, expected {lab.paths.db_env_var}"
    if not default or Path(default).is_absolute():
        return var, None, f"{lab.paths.profiles_yml}: the default must be a relative path inside the lab"
    resolved = (lab.paths.dbt_dir / default).resolve()
    if resolved != lab.paths.default_database:
        expected = lab.paths.default_database.relative_to(lab.paths.root)
        return (
            var,
            resolved,
            (
                f"{lab.paths.profiles_yml}: default {default} is not the lab database ../{expected}: "
                "plain dbt and the runner would write different files"
            ),
        )
    return var, resolved, ""


def dbt_sources_state(lab: Lab) -> tuple[str, list[str]]:
    """(table text, problems) of a lab's dbt sources and vars: generated from lab.yaml and in sync,
    drifted, or hand-written (an adopted project declares its own)."""
    try:
        drift = sources_drift(lab.paths, lab.config) or project_vars_drift(lab.paths, lab.config)
    except BuildCPGError as err:  # e.g. a bad sources_extra.yml
        drift = str(err)
    if drift:
        return "[red]drift[/]", [f"{lab.name}: {drift}"]
    return ("lab.yaml" if is_generated(sources_path(lab.paths)) else "hand-written"), []


def _venv_state(workspace: Workspace, lab: Lab, problems: list[str]) -> tuple[str, dict[str, str | None], str]:
    """(venv cell, versions of the key packages and the lab's own, own text) of one lab; its problems added."""
    env_problem = workspace.env_problem(lab)
    if env_problem:  # no pyproject.toml, not a member: uv cannot make its venv; the other labs are checked
        problems.append(env_problem)
        return BROKEN, dict.fromkeys(KEY_PACKAGES), "-"
    own_names = lab.own_dependencies()
    if not lab.paths.venv_python.exists():
        problems.append(f"{lab.name}: no venv; run `buildcpg sync {lab.name}`")
        versions: dict[str, str | None] = dict.fromkeys(KEY_PACKAGES + own_names)
        venv_state = "[red]missing[/]"
    else:
        check = check_lab_venv(workspace, lab)
        venv_state = "[green]in sync, exact[/]" if check.ok else "[red]out of sync[/]"
        if not check.ok:
            said = uv_problem(check)
            problems.append(f"{lab.name}: venv differs from uv.lock; run `buildcpg sync {lab.name}` ({said})")
        versions = installed_versions(lab.paths.venv_python, KEY_PACKAGES + own_names)
        if not versions.get("dbt-core"):
            problems.append(f"{lab.name}: dbt-core is not installed in its venv")
    own = ", ".join(f"{p} {versions.get(p) or '-'}" for p in own_names)
    return venv_state, versions, own


def _check_storage(url: str | None, problems: list[str]) -> None:
    """With shared storage set: one line, the bucket answers or why not (credentials, endpoint, bucket)."""
    if not url:
        return
    problem = ObjectStore(url).check()
    if problem:
        console.print(f"[red]✗[/] {escape(problem)}")
        problems.append(problem)
    else:
        console.print(f"[green]✓[/] storage {escape(url)} answers (bucket reachable with these credentials)")


def _state_check(url: str) -> tuple[bool, str]:
    """(reachable, one line): what answers at the state URL (read only), or why nothing does."""
    from buildcpg_shared.config.shared import masked
    from buildcpg_shared.state_db import postgres_engine, probe, state_error

    try:
        return True, f"state database {masked(url)}: reachable, {probe(postgres_engine(url))}"
    except Exception as err:
        return False, str(state_error(url, err))


def doctor_command() -> None:
    """Check the lock, every lab venv (in sync, exact, isolated), root venv free of dbt, profiles, dbt sources."""
    workspace = Workspace.find()
    problems: list[str] = []
    try:  # which mode is active: embedded, or shared storage / state (buildcpg.yaml shared:, env vars)
        console.print(f"[green]✓[/] {escape(workspace.shared.describe())}")
        _check_storage(workspace.shared.storage, problems)
        state = workspace.shared.state
    except ConfigError as err:
        console.print(f"[red]✗[/] {escape(str(err))}")
        problems.append(str(err))
        state = None
    if state:  # the shared history and lease: one line, reachable or why not (password masked)
        ok, line = _state_check(state)
        console.print(("[green]✓[/] " if ok else "[red]✗[/] ") + escape(line))
        if not ok:
            problems.append(line)
    lock = run_uv(workspace, ["lock", "--check"])
    console.print(("[green]✓[/]" if lock.ok else "[red]✗[/]") + " uv.lock matches every pyproject.toml")
    if not lock.ok:
        problems.append(f"uv.lock is stale: run `uv lock` and commit it ({uv_problem(lock)})")
    root_python = workspace.root / ".venv" / "bin" / "python"
    if root_python.exists():
        root_has_dbt = installed_versions(root_python, ["dbt-core"])["dbt-core"] is not None
    else:  # running from another env (e.g. tox): judge this interpreter
        root_has_dbt = importlib.util.find_spec("dbt") is not None
    console.print(("[red]✗[/]" if root_has_dbt else "[green]✓[/]") + " root venv holds no dbt")
    if root_has_dbt:
        problems.append(
            "dbt is importable in the root venv: run `uv sync --locked` at the root (exact sync removes it)"
        )

    try:
        graph = lab_graph(workspace.labs())
        edges = [f"{lab} reads {', '.join(ups)}" for lab, ups in sorted(graph.items()) if ups]
        console.print("[green]✓[/] lab graph (inputs): " + ("; ".join(edges) or "no lab reads another"))
    except ConfigError as err:  # an unknown upstream or a cycle
        console.print(f"[red]✗[/] lab graph (inputs): {escape(str(err))}")
        problems.append(str(err))

    table = Table(title="Labs")
    for column in ("lab", "venv", "profile → database", "sources", *KEY_PACKAGES, "lab's own"):
        table.add_column(column)
    for lab in workspace.labs():
        venv_state, versions, own = _venv_state(workspace, lab, problems)
        if venv_state == BROKEN:  # not a lab uv knows: its one line (below the table) says it all
            table.add_row(lab.name, venv_state, *["-"] * (len(KEY_PACKAGES) + 3))
            continue
        _, resolved, problem = profile_database(lab)
        if problem:
            problems.append(problem)
            profile_text = f"[red]{escape(problem)}[/]"
        else:
            profile_text = str(resolved.relative_to(workspace.root)) if resolved else "?"
        dbt_text, dbt_problems = dbt_sources_state(lab)
        problems.extend(dbt_problems)
        table.add_row(
            lab.name, venv_state, profile_text, dbt_text, *(versions.get(p) or "-" for p in KEY_PACKAGES), own or "-"
        )
    console.print(table)
    if problems:
        for problem in problems:
            console.print(f"[red]✗[/] {escape(problem)}")
        raise BuildCPGError(f"doctor found {len(problems)} problem(s)")
    console.print("[green]all checks passed[/]")
    raise typer.Exit(0)
