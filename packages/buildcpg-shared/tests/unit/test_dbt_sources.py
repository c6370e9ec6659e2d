"""dbt sources generated from lab.yaml, the shared dbt package, and the lab pytest plugin's lab finder."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from buildcpg_shared.cli.doctor import dbt_sources_state
from buildcpg_shared.config.lab_config import load_lab_config
from buildcpg_shared.errors import ConfigError
from buildcpg_shared.pipeline.dbt_package import PACKAGE_ENV, package_dir
from buildcpg_shared.pipeline.dbt_sources import (
    HEADER,
    expected_sources,
    render_sources,
    sources_drift,
    sources_path,
    write_sources,
)
from buildcpg_shared.pytest_plugin import find_lab_dir
from buildcpg_shared.registry import Lab, LabPaths
from buildcpg_shared.scaffold.render import render_tree, template_dir
from buildcpg_shared.testing import copy_lab
from conftest import WORKSPACE_ROOT

ROOT = WORKSPACE_ROOT
LABS = sorted(p.parent for p in (ROOT / "labs").glob("*/lab.yaml"))


def _source(text: str) -> dict:
    return yaml.safe_load(text)["sources"][0]


@pytest.mark.parametrize("lab_dir", LABS, ids=[p.name for p in LABS])
def test_shipped_sources_are_generated_from_lab_yaml_and_in_sync(lab_dir: Path) -> None:
    paths = LabPaths.for_dir(lab_dir)
    text = sources_path(paths).read_text(encoding="utf-8")
    assert text.startswith(HEADER + "\n")
    assert text == expected_sources(paths), f"{lab_dir.name}: run `make dbt ARGS=parse` to regenerate"
    config = load_lab_config(paths.lab_yaml)
    tables = {t["name"]: t for t in _source(text)["tables"]}
    assert list(tables) == list(config.sources)
    for name, spec in config.sources.items():
        assert [c["name"] for c in tables[name]["columns"]] == [*spec.columns, "_source_file", "_loaded_at"]


def test_template_sources_match_the_template_lab_yaml(tmp_path: Path) -> None:
    root = tmp_path / "lab9_demo"
    context = {"lab": "lab9_demo", "package": "lab9-demo", "title": "Demo", "db_env_var": "X", "profile": "lab9_demo"}
    render_tree(root, {**context, "adopted": False, "adopted_from": ""})
    assert sources_path(LabPaths.for_dir(root)).read_text(encoding="utf-8") == expected_sources(LabPaths.for_dir(root))
    assert not (root / "tests" / "conftest.py").exists()  # the fixtures come from the pytest plugin


def test_freshness_descriptions_and_loaded_at_come_from_lab_yaml(tmp_path: Path) -> None:
    lab = copy_lab(ROOT / "labs" / "lab1_sales_performance", tmp_path)
    text = (lab / "lab.yaml").read_text(encoding="utf-8")
    (lab / "lab.yaml").write_text(
        text.replace("warn_after_hours: 168", "warn_after_hours: 24").replace(
            "error_after_hours: 720", "error_after_hours: 48"
        ),
        encoding="utf-8",
    )
    source = _source(expected_sources(LabPaths.for_dir(lab)))
    assert source["config"]["loaded_at_field"] == "_loaded_at"
    freshness = source["config"]["freshness"]
    assert freshness["warn_after"] == {"count": "{{ var('buildcpg_warn_after_hours', 24) }}", "period": "hour"}
    assert freshness["error_after"] == {"count": "{{ var('buildcpg_error_after_hours', 48) }}", "period": "hour"}
    sales = next(t for t in source["tables"] if t["name"] == "sales")
    assert sales["description"].startswith("POS sales lines") and "data/raw/sales_*.csv" in sales["description"]
    units = next(c for c in sales["columns"] if c["name"] == "units")
    assert units["description"] == "Units sold on the line; should be positive. Checked at load: required."


def test_rules_load_enforces_are_in_the_column_and_table_descriptions(tmp_path: Path) -> None:
    """lab.yaml's rules (checked at load, not repeated as staging tests) are shown where dbt docs show them."""
    lab = copy_lab(ROOT / "labs" / "lab1_sales_performance", tmp_path)
    text = (lab / "lab.yaml").read_text(encoding="utf-8")
    (lab / "lab.yaml").write_text(
        text.replace(
            'list_price: {type: "DECIMAL(10,2)", min: 0,', 'list_price: {type: "DECIMAL(10,2)", min: 0, max: 999,'
        ),
        encoding="utf-8",
    )
    tables = {t["name"]: t for t in _source(expected_sources(LabPaths.for_dir(lab)))["tables"]}
    stores = {c["name"]: c["description"] for c in tables["stores"]["columns"]}
    assert stores["store_id"] == "Store identifier. Checked at load: required; matches S[0-9]{3}."
    assert stores["region"].endswith("Checked at load: required; one of: North, South, East, West, Central.")
    assert stores["city"] == "City of the store."  # no rule, no suffix
    products = {c["name"]: c["description"] for c in tables["products"]["columns"]}
    assert products["list_price"].endswith("Checked at load: at least 0 and at most 999.")
    assert tables["stores"]["description"].endswith(
        "Checked at load: primary key (store_id): a later copy of a key in the same file is quarantined."
    )


def test_runner_rewrite_only_on_change_and_never_a_hand_written_file(tmp_path: Path) -> None:
    lab = copy_lab(ROOT / "labs" / "lab3_customer_segmentation", tmp_path)
    paths = LabPaths.for_dir(lab)
    assert write_sources(paths) is False and sources_drift(paths) == ""  # shipped: in sync, not rewritten
    lab_yaml = (lab / "lab.yaml").read_text(encoding="utf-8")
    (lab / "lab.yaml").write_text(lab_yaml.replace("description: Customer master.", "description: Who buys."), "utf-8")
    drift = sources_drift(paths)
    assert "out of date with lab.yaml" in drift and str(sources_path(paths)) in drift
    state, problems = dbt_sources_state(Lab.from_dir(lab))
    assert "drift" in state and problems == [f"{lab.name}: {drift}"]
    assert write_sources(paths) is True and sources_drift(paths) == ""
    assert "Who buys. Files: data/raw/customers.csv." in sources_path(paths).read_text(encoding="utf-8")
    state, problems = dbt_sources_state(Lab.from_dir(lab))
    assert state == "lab.yaml" and problems == []
    hand_written = "version: 2\nsources: []\n"
    sources_path(paths).write_text(hand_written, encoding="utf-8")
    assert write_sources(paths) is False and sources_drift(paths) == ""
    assert sources_path(paths).read_text(encoding="utf-8") == hand_written


def test_extras_merge_by_table_and_column(tmp_path: Path) -> None:
    lab = copy_lab(ROOT / "labs" / "lab3_customer_segmentation", tmp_path)
    extras = lab / "dbt" / "sources_extra.yml"
    extras.write_text(
        "tables:\n  transactions:\n    config: {freshness: null}\n"
        "    columns:\n      transaction_id: {data_tests: [not_null]}\n",
        encoding="utf-8",
    )
    tables = {t["name"]: t for t in _source(expected_sources(LabPaths.for_dir(lab)))["tables"]}
    assert tables["transactions"]["config"] == {"freshness": None}
    column = next(c for c in tables["transactions"]["columns"] if c["name"] == "transaction_id")
    assert column["data_tests"] == ["not_null"]
    assert "config" not in tables["customers"]  # the other table keeps the lab's SLA


@pytest.mark.parametrize(
    ("extras", "problem"),
    [
        ("tables:\n  refunds: {config: {freshness: null}}\n", "tables.refunds: not a source in lab.yaml"),
        ("tables:\n  customers:\n    columns:\n      age: {data_tests: [not_null]}\n", "tables.customers.columns.age"),
        ("models: {}\n", "unknown key(s) models"),
    ],
)
def test_bad_extras_name_the_file_and_key(tmp_path: Path, extras: str, problem: str) -> None:
    lab = copy_lab(ROOT / "labs" / "lab3_customer_segmentation", tmp_path)
    (lab / "dbt" / "sources_extra.yml").write_text(extras, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sources_extra\.yml") as raised:
        render_sources(load_lab_config(lab / "lab.yaml"), lab / "dbt" / "sources_extra.yml")
    assert problem in str(raised.value)


def test_schema_naming_macro_lives_once_in_the_shared_package() -> None:
    macro_files = [p for p in ROOT.glob("labs/*/dbt/macros/*.sql") if "generate_schema_name" in p.read_text()]
    macro_files += [p for p in template_dir().rglob("*.sql") if "generate_schema_name" in p.read_text()]
    assert macro_files == []
    assert "default__generate_schema_name" in (package_dir() / "macros" / "generate_schema_name.sql").read_text()
    for lab_dir in [*LABS, template_dir()]:
        packages = yaml.safe_load((lab_dir / "dbt" / "packages.yml").read_text(encoding="utf-8"))["packages"]
        assert PACKAGE_ENV in packages[0]["local"]
        # the relative default of plain `dbt deps` is the shared package when the lab sits in labs/
        default = packages[0]["local"].split("'")[3]
        assert (ROOT / "labs" / "labX" / "dbt" / default).resolve() == package_dir()


def test_lab_finder_walks_up_to_the_lab(tmp_path: Path) -> None:
    lab = copy_lab(ROOT / "labs" / "lab3_customer_segmentation", tmp_path)
    assert find_lab_dir([lab / "tests" / "test_segments.py"]) == lab
    assert find_lab_dir([tmp_path / "elsewhere", lab / "tests"]) == lab
    assert find_lab_dir([tmp_path]) is None
