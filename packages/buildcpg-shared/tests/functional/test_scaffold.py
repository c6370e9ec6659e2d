"""``buildcpg new-lab`` / ``remove-lab`` on a real copy of this workspace: real uv, real dbt, real DuckDB.

A new lab passes its own tests and ``buildcpg run`` straight away; removing it restores
pyproject.toml and uv.lock byte for byte; a failure half-way leaves nothing behind; an existing
dbt project is adopted without touching its files.
"""

from __future__ import annotations

import hashlib
import shutil
import stat
import subprocess
import textwrap
from pathlib import Path

import buildcpg_shared.scaffold
import duckdb
import pytest
from buildcpg_shared.testing import cli_env, copy_workspace, run_cli, uv_path
from conftest import WORKSPACE_ROOT


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the workspace (no venvs: new-lab syncs only the lab it creates)."""
    return copy_workspace(WORKSPACE_ROOT, tmp_path_factory.mktemp("ws") / "buildcpg-labs")


def _digests(root: Path) -> dict[str, str]:
    return {n: hashlib.sha256((root / n).read_bytes()).hexdigest() for n in ("pyproject.toml", "uv.lock")}


def _leftovers(root: Path) -> list[str]:
    """Staging or parked lab folders left in .buildcpg/ (run logs there are expected)."""
    state = root / ".buildcpg"
    return sorted(p.name for p in state.glob("*") if p.name.startswith(("new-lab-", "removed-")))


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../lab7_evil", "no path separators"),
        ("labs/lab7_x", "no path separators"),
        ("Lab7_Upper", "lowercase 'lab<N>_<words>'"),
        ("lab7", "lowercase 'lab<N>_<words>'"),
        ("lab1_sales_performance", "already exists"),
        ("lab1_other", "lab1 is already used by lab1_sales_performance"),
    ],
)
def test_bad_names_are_refused_in_one_line(workspace: Path, name: str, problem: str) -> None:
    before = _digests(workspace)
    result = run_cli(workspace, "new-lab", name, "--no-sync")
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("buildcpg: error: ") and problem in lines[0], result.stderr
    assert _digests(workspace) == before
    assert not (workspace / "labs" / "lab7_evil").exists() and not (workspace.parent / "lab7_evil").exists()


def test_new_lab_passes_its_tests_and_run_then_removal_restores_the_workspace(workspace: Path) -> None:
    before = _digests(workspace)
    created = run_cli(workspace, "new-lab", "lab7_demo")
    assert created.returncode == 0, created.stdout + created.stderr
    lab = workspace / "labs" / "lab7_demo"
    for part in ("pyproject.toml", "lab.yaml", "Makefile", ".gitignore", ".envrc", "README.md", "dbt/profiles.yml"):
        assert (lab / part).is_file(), part
    for layer in ("staging", "intermediate", "marts"):
        assert list((lab / "dbt" / "models" / layer).glob("*.sql")), layer
    assert "BUILDCPG_LAB7_DEMO_DB" in (lab / "dbt" / "profiles.yml").read_text()
    assert _digests(workspace)["uv.lock"] != before["uv.lock"]
    assert 'name = "lab7-demo"' in (workspace / "uv.lock").read_text()

    tests = subprocess.run(
        [str(lab / ".venv" / "bin" / "python"), "-m", "pytest", "-q", str(lab / "tests")],
        cwd=workspace,
        env=cli_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout
    ran = run_cli(workspace, "run", "lab7_demo")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    with duckdb.connect(str(lab / "data" / "lab7_demo.duckdb"), read_only=True) as con:
        assert con.execute("select sum(orders) from gold.orders_by_day").fetchone() == (6,)

    removed = run_cli(workspace, "remove-lab", "lab7_demo", "--yes")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert not lab.exists()
    assert _digests(workspace) == before
    assert _leftovers(workspace) == []


def test_a_failure_half_way_leaves_no_lab_behind(workspace: Path, tmp_path: Path) -> None:
    """uv stands in for a failing sync (e.g. a registry outage) through $UV: lock is real, sync fails."""
    fake = tmp_path / "uv"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "sync" ]; then echo "error: simulated outage" >&2; exit 1; fi\n'
        f'exec "{uv_path()}" "$@"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    before = _digests(workspace)
    result = run_cli(workspace, "new-lab", "lab8_broken", UV=str(fake))
    assert result.returncode == 2
    assert "uv sync failed for lab8_broken: error: simulated outage" in result.stderr
    assert not (workspace / "labs" / "lab8_broken").exists()
    assert _digests(workspace) == before
    assert _leftovers(workspace) == []


def _dbt_project(folder: Path) -> Path:
    """A small existing dbt project: a seed, a model on it, a generic and a singular test."""
    files = {
        "dbt_project.yml": """\
            name: shop
            version: "1.0.0"
            profile: shop_warehouse
            model-paths: ["models"]
            seed-paths: ["seeds"]
            test-paths: ["tests"]
            models:
              shop:
                +materialized: table
            """,
        "seeds/customers.csv": "customer_id,country\n1,FR\n2,DE\n3,FR\n",
        "models/customers_per_country.sql": (
            "select country, count(*) as customers from {{ ref('customers') }} group by country\n"
        ),
        "models/schema.yml": """\
            version: 2
            models:
              - name: customers_per_country
                columns:
                  - name: country
                    data_tests: [not_null, unique]
            """,
        "tests/assert_three_customers.sql": (
            "select * from (select sum(customers) as n from {{ ref('customers_per_country') }}) where n != 3\n"
        ),
        "profiles.yml": """\
            shop_warehouse:
              target: prod
              outputs:
                prod: {type: duckdb, path: /nowhere/x.duckdb}
            """,
    }
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return folder


def test_adopt_an_existing_dbt_project(workspace: Path, tmp_path: Path) -> None:
    project = _dbt_project(tmp_path / "shop")
    before = _digests(workspace)
    created = run_cli(workspace, "new-lab", "lab9_shop", "--from-dbt", str(project))
    assert created.returncode == 0, created.stdout + created.stderr
    dbt_dir = workspace / "labs" / "lab9_shop" / "dbt"
    for name in ("dbt_project.yml", "seeds/customers.csv", "models/customers_per_country.sql", "models/schema.yml"):
        assert (dbt_dir / name).read_bytes() == (project / name).read_bytes(), name
    profiles = (dbt_dir / "profiles.yml").read_text()
    assert "\nshop_warehouse:\n" in profiles
    assert "env_var('BUILDCPG_LAB9_SHOP_DB', '../data/lab9_shop.duckdb')" in profiles
    assert "/nowhere" not in profiles

    ran = run_cli(workspace, "run", "lab9_shop")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    with duckdb.connect(str(workspace / "labs" / "lab9_shop" / "data" / "lab9_shop.duckdb"), read_only=True) as con:
        rows = con.execute("select country, customers from customers_per_country order by country").fetchall()
    assert rows == [("DE", 1), ("FR", 2)]
    doctor = run_cli(workspace, "doctor")
    assert "lab9_shop" in doctor.stdout and "labs/lab9_shop/data/lab9_shop.duckdb" in doctor.stdout

    assert run_cli(workspace, "remove-lab", "lab9_shop", "--yes").returncode == 0
    assert _digests(workspace) == before


def test_upgrade_lab_applies_template_changes_and_keeps_local_edits(workspace: Path, tmp_path: Path) -> None:
    """A team template ($BUILDCPG_LAB_TEMPLATE, a copy of the shipped one) changes after the lab was made."""
    template = tmp_path / "template"
    shutil.copytree(Path(buildcpg_shared.scaffold.__file__).parent / "template", template)
    env = {"BUILDCPG_LAB_TEMPLATE": str(template)}
    created = run_cli(workspace, "new-lab", "lab6_upgrade", "--no-sync", **env)
    assert created.returncode == 0, created.stdout + created.stderr
    lab = workspace / "labs" / "lab6_upgrade"
    models = lab / "dbt" / "models"
    edited = "-- edited in the lab\n" + (models / "intermediate" / "int_orders.sql").read_text()
    (models / "intermediate" / "int_orders.sql").write_text(edited)

    (template / "dbt" / "models" / "marts" / "orders_by_day.sql").write_text("select 1 as changed_in_template\n")
    (template / "dbt" / "models" / "intermediate" / "int_orders.sql").write_text("select 2 as also_changed\n")
    (template / "dbt" / "models" / "marts" / "new_model.sql").write_text("select 3 as new_in_template\n")

    dry = run_cli(workspace, "upgrade-lab", "lab6_upgrade", "--dry-run", **env)
    assert dry.returncode == 0 and "1 would be updated, 1 would be added, 1 kept" in dry.stdout, dry.stdout
    assert (models / "marts" / "orders_by_day.sql").read_text() != "select 1 as changed_in_template\n"

    upgraded = run_cli(workspace, "upgrade-lab", "lab6_upgrade", **env)
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert (models / "marts" / "orders_by_day.sql").read_text() == "select 1 as changed_in_template\n"
    assert (models / "marts" / "new_model.sql").read_text() == "select 3 as new_in_template\n"
    assert (models / "intermediate" / "int_orders.sql").read_text() == edited
    assert (models / "intermediate" / "int_orders.sql.template-new").read_text() == "select 2 as also_changed\n"

    again = run_cli(workspace, "upgrade-lab", "lab6_upgrade", **env)
    assert "0 updated, 0 added, 0 kept" in again.stdout, again.stdout
    assert run_cli(workspace, "remove-lab", "lab6_upgrade", "--yes").returncode == 0


def test_upgrade_lab_refuses_a_lab_not_made_from_the_template(workspace: Path) -> None:
    record = workspace / "labs" / "lab2_forecast_model" / ".buildcpg-template.json"
    saved = record.read_bytes()
    record.unlink()
    try:
        result = run_cli(workspace, "upgrade-lab", "lab2_forecast_model")
    finally:
        record.write_bytes(saved)
    assert result.returncode == 2
    assert "was not made by `buildcpg new-lab` (no .buildcpg-template.json)" in result.stderr


@pytest.mark.parametrize(
    "lab", ["lab1_sales_performance", "lab2_forecast_model", "lab3_customer_segmentation", "lab4_category_review"]
)
def test_shipped_labs_are_template_instances_up_to_date(workspace: Path, lab: str) -> None:
    dry = run_cli(workspace, "upgrade-lab", lab, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "0 would be updated, 0 would be added, 0 kept" in dry.stdout, f"run `buildcpg upgrade-lab {lab}`"


def test_template_changes_reach_a_shipped_lab(workspace: Path, tmp_path: Path) -> None:
    """lab 3 was made before new-lab: template files it shares are updated, its own versions are kept."""
    template = tmp_path / "template"
    shutil.copytree(Path(buildcpg_shared.scaffold.__file__).parent / "template", template)
    env = {"BUILDCPG_LAB_TEMPLATE": str(template)}
    lab = workspace / "labs" / "lab3_customer_segmentation"
    before = {p: p.read_bytes() for p in (lab / "lab.yaml", lab / "dbt" / "dbt_project.yml", lab / "Makefile")}
    restore = {p: p.read_bytes() for p in (lab / "dbt" / "profiles.yml", lab / ".buildcpg-template.json")}
    profiles = template / "dbt" / "profiles.yml.jinja"
    profiles.write_text("# changed in the template\n" + profiles.read_text())
    (template / "Makefile.jinja").write_text("include ../../tools/make/lab.mk  # changed in the template\n")
    (template / "dbt" / "models" / "staging" / "stg_new.sql").write_text("select 1 as example\n")
    try:
        upgraded = run_cli(workspace, "upgrade-lab", "lab3_customer_segmentation", **env)
        assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
        assert (lab / "dbt" / "profiles.yml").read_text().startswith("# changed in the template\n")
        assert (lab / "Makefile.template-new").read_text().endswith("# changed in the template\n")
        assert {p: p.read_bytes() for p in before} == before  # the lab's own versions stay
        assert not (lab / "dbt" / "models" / "staging" / "stg_new.sql").exists()  # models are the lab's own
    finally:  # the workspace copy is shared by this module's tests
        for path, data in restore.items():
            path.write_bytes(data)
        (lab / "Makefile.template-new").unlink(missing_ok=True)
