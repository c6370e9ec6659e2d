"""``buildcpg new-lab --from-dbt --gold``: a realistic dbt project (seeds, staging, marts, a Python
model with a Python dependency) adopted into a copy of this workspace, run by the lab runner, and
compared table by table with a plain ``dbt build`` of the same project."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
import tomllib
from pathlib import Path

import duckdb
import pytest
from buildcpg_shared.testing import cli_env, copy_workspace, run_cli
from conftest import WORKSPACE_ROOT

LAB = "lab8_shop"

PROJECT = {
    "dbt_project.yml": """\
        name: shop
        version: "1.0.0"
        config-version: 2
        profile: shop_warehouse
        require-dbt-version: [">=1.10.0", "<2.0.0"]
        clean-targets: ["target", "dbt_packages"]
        seeds:
          shop:
            +schema: landing
        models:
          shop:
            staging:
              +materialized: view
            marts:
              +materialized: table
              +schema: marts
        """,
    "requirements.txt": """\
        # the project's own environment
        dbt-duckdb==1.11.1  # its dbt pin: the lab keeps its own
        python-dateutil>=2.8
        threadpoolctl>=3.1
        """,
    ".gitignore": """\
        target/
        dbt_packages/
        logs/
        *.log
        scratch/
        !keep.log
        """,
    "seeds/raw_customers.csv": """\
        id,name,country
        1,Ada,FR
        2,Bo,DE
        3,Cy,FR
        """,
    "seeds/raw_orders.csv": """\
        id,customer_id,order_date,amount_cents
        10,1,2026-01-05,1250
        11,1,2026-02-11,800
        12,2,2026-01-20,4300
        13,3,2026-03-02,999
        14,3,2026-03-15,1
        """,
    "models/staging/stg_customers.sql": """\
        with source as (select * from {{ ref('raw_customers') }})
        select id as customer_id, name as customer_name, country from source
        """,
    "models/staging/stg_orders.sql": """\
        with source as (select * from {{ ref('raw_orders') }})
        select id as order_id, customer_id, cast(order_date as date) as ordered_on,
               amount_cents / 100.0 as amount
        from source
        """,
    "models/staging/_staging.yml": """\
        models:
          - name: stg_customers
            columns:
              - name: customer_id
                data_tests: [unique, not_null]
          - name: stg_orders
            columns:
              - name: order_id
                data_tests: [unique, not_null]
        """,
    "models/marts/customers.sql": """\
        with orders as (select * from {{ ref('stg_orders') }}),
        customers as (select * from {{ ref('stg_customers') }}),
        final as (
            select c.customer_id, c.customer_name, c.country,
                   count(o.order_id) as orders, sum(o.amount) as revenue
            from customers as c left join orders as o on o.customer_id = c.customer_id
            group by all
        )
        select * from final
        """,
    "models/marts/revenue_by_month.sql": """\
        select date_trunc('month', ordered_on) as month, sum(amount) as revenue
        from {{ ref('stg_orders') }} group by all
        """,
    "models/marts/renewals.py": """\
        from dateutil.relativedelta import relativedelta  # the project's Python dependency


        def model(dbt, session):
            first = dbt.ref("stg_orders").aggregate("customer_id, min(ordered_on) as first_order").fetchall()
            rows = ", ".join(
                f"({cid}, DATE '{day.isoformat()}', DATE '{(day + relativedelta(months=1)).isoformat()}')"
                for cid, day in sorted(first)
            )
            return session.sql(f"select * from (values {rows}) as t(customer_id, first_order, renewal_due)")
        """,
    "models/marts/_marts.yml": """\
        models:
          - name: customers
            columns:
              - name: customer_id
                data_tests: [unique, not_null]
        """,
    "models/.gitignore": "wip_*.sql\n",
    "models/wip_broken.sql": "select * from a_table_that_does_not_exist\n",  # ignored: must not be copied
    "tests/assert_revenue_is_total.sql": """\
        select * from (select sum(revenue) as r from {{ ref('customers') }}) where r != 73.50
        """,
    "profiles.yml": """\
        shop_warehouse:
          target: prod
          outputs:
            prod: {type: duckdb, path: /nowhere/prod.duckdb}
        """,
    ".git/HEAD": "ref: refs/heads/main\n",
    ".github/workflows/ci.yml": "on: push\n",
    "target/manifest.json": "{}\n",
    "dbt_packages/old/dbt_project.yml": "name: old\n",
    "logs/dbt.log": "old log\n",
    "scratch/notes.sql": "select 1\n",
    "debug.log": "x\n",
    "keep.log": "kept: negated in .gitignore\n",
}
NOT_COPIED = [
    ".git",
    ".github",
    "target",
    "dbt_packages",
    "logs",
    "scratch",
    "debug.log",
    "requirements.txt",
    "models/wip_broken.sql",
    ".gitignore",  # not part of the dbt project (its rules were applied to the copy)
    "keep.log",  # not part of the dbt project, git-ignored or not
]


def _project(folder: Path) -> Path:
    for name, text in PROJECT.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return folder


def _tables(db: Path, schemas: set[str] | None = None) -> dict[str, list[tuple]]:
    """Every table and view (schema.name) with its rows, sorted, in a DuckDB file."""
    with duckdb.connect(str(db), read_only=True) as con:
        names = con.execute(
            "select table_schema, table_name from information_schema.tables where table_catalog = current_database()"
        ).fetchall()
        return {
            f"{s}.{t}": sorted(con.execute(f'select * from "{s}"."{t}"').fetchall(), key=repr)
            for s, t in names
            if schemas is None or s in schemas
        }


@pytest.fixture(scope="module")
def adopted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    """(workspace, original project, the new-lab result): the project adopted with --gold marts."""
    base = tmp_path_factory.mktemp("adopt")
    workspace = copy_workspace(WORKSPACE_ROOT, base / "ws")
    project = _project(base / "shop")
    created = run_cli(workspace, "new-lab", LAB, "--from-dbt", str(project), "--gold", "marts")
    assert created.returncode == 0, created.stdout + created.stderr
    return workspace, project, created


def test_adoption_copies_the_dbt_project_only(adopted: tuple[Path, Path, subprocess.CompletedProcess[str]]) -> None:
    workspace, project, created = adopted
    dbt_dir = workspace / "labs" / LAB / "dbt"
    copied = {p.relative_to(dbt_dir).as_posix() for p in dbt_dir.rglob("*") if p.is_file()}
    for name in PROJECT:
        top = name.split("/")[0]
        if name == "profiles.yml":
            continue
        if name in NOT_COPIED or top in NOT_COPIED:
            assert name not in copied, name
        else:
            assert (dbt_dir / name).read_bytes() == (project / name).read_bytes(), name
    assert "/nowhere" not in (dbt_dir / "profiles.yml").read_text()  # generated for the lab, not copied
    assert "left out (" in created.stdout and ".git/" in created.stdout and "models/wip_broken.sql" in created.stdout


def test_adoption_carries_the_python_dependencies(adopted: tuple[Path, Path, subprocess.CompletedProcess[str]]) -> None:
    workspace, _, created = adopted
    pyproject = tomllib.loads((workspace / "labs" / LAB / "pyproject.toml").read_text())
    deps = pyproject["project"]["dependencies"]
    assert "python-dateutil>=2.8" in deps and "threadpoolctl>=3.1" in deps
    assert not any(d.startswith("dbt-duckdb==") for d in deps), deps  # the lab's own dbt pins stay
    assert "not carried" in created.stdout and "dbt-duckdb==1.11.1" in created.stdout
    lock = tomllib.loads((workspace / "uv.lock").read_text())
    member = next(p for p in lock["package"] if p["name"] == LAB.replace("_", "-"))
    assert {"python-dateutil", "threadpoolctl"} <= {d["name"] for d in member["dependencies"]}
    # installed in the lab's own venv, which has no other reason to have threadpoolctl
    python = workspace / "labs" / LAB / ".venv" / "bin" / "python"
    probe = subprocess.run([python, "-c", "import threadpoolctl, dateutil"], capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    lab_yaml = (workspace / "labs" / LAB / "lab.yaml").read_text()
    assert 'select:\n    - "marts"' in lab_yaml


def test_adopted_lab_equals_a_plain_dbt_build_and_publishes_its_gold(
    adopted: tuple[Path, Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    workspace, project, _ = adopted
    ran = run_cli(workspace, "run", LAB)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "gold: 3 model(s)" in ran.stdout, ran.stdout

    # the same project built by plain dbt (the lab venv's dbt) from a clean checkout (what git clone gives)
    plain = tmp_path / "plain"
    clean = shutil.copytree(
        project, tmp_path / "checkout", ignore=shutil.ignore_patterns("dbt_packages", "target", "wip_*")
    )
    (plain / "profiles").mkdir(parents=True)
    (plain / "profiles" / "profiles.yml").write_text(
        f"shop_warehouse:\n  target: dev\n  outputs:\n    dev: {{type: duckdb, path: '{plain / 'shop.duckdb'}'}}\n"
    )
    dbt = workspace / "labs" / LAB / ".venv" / "bin" / "dbt"
    built = subprocess.run(
        [dbt, "build", "--project-dir", str(clean), "--profiles-dir", str(plain / "profiles"),
         "--target-path", str(plain / "target"), "--log-path", str(plain / "logs")],
        capture_output=True, text=True, env=cli_env(), cwd=plain, timeout=600, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr

    expected = _tables(plain / "shop.duckdb")
    assert {"main_marts.customers", "main_marts.renewals", "main_landing.raw_orders"} <= set(expected)
    lab_db = workspace / "labs" / LAB / "data" / f"{LAB}.duckdb"
    got = _tables(lab_db, {s.split(".")[0] for s in expected})
    assert got == expected

    # gold: the selected marts, as views in the lab database and as tables in the serving copy
    gold = _tables(lab_db, {"gold"})
    assert gold == {f"gold.{k.split('.')[1]}": v for k, v in expected.items() if k.startswith("main_marts.")}
    serving = workspace / "labs" / LAB / "data" / "serving" / f"{LAB}.duckdb"
    assert _tables(serving, {"gold"}) == gold
    with duckdb.connect(str(serving), read_only=True) as con:
        kinds = {
            r[0]
            for r in con.execute(
                "select table_type from information_schema.tables where table_schema = 'gold'"
            ).fetchall()
        }
    assert kinds == {"BASE TABLE"}


def test_gold_selection_that_picks_nothing_fails_transform_in_one_line(
    adopted: tuple[Path, Path, subprocess.CompletedProcess[str]],
) -> None:
    workspace, _, _ = adopted
    lab_yaml = workspace / "labs" / LAB / "lab.yaml"
    saved = lab_yaml.read_text()
    lab_yaml.write_text(saved.replace('- "marts"', '- "no_such_model"'))
    try:
        ran = run_cli(workspace, "run", LAB, "--no-sync")
    finally:
        lab_yaml.write_text(saved)
    assert ran.returncode == 1
    assert "lab.yaml gold: select 'no_such_model' picks no model" in ran.stdout, ran.stdout
