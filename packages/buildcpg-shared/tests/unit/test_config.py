"""lab.yaml validation: a bad file stops with one line naming file, key and problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from buildcpg_shared.config import LabConfig, load_lab_config
from buildcpg_shared.config.lab_config import lab_name_problem
from buildcpg_shared.errors import ConfigError
from pydantic import ValidationError


def _write(tmp_path: Path, text: str, folder: str = "lab9_tiny") -> Path:
    lab = tmp_path / folder
    lab.mkdir(parents=True, exist_ok=True)
    path = lab / "lab.yaml"
    path.write_text(text)
    return path


def test_shipped_lab1_contract_is_valid(workspace_root: Path) -> None:
    config = load_lab_config(workspace_root / "labs" / "lab1_sales_performance" / "lab.yaml")
    assert config.name == "lab1_sales_performance"
    assert config.sources["sales"].duckdb_columns["unit_price"] == "DECIMAL(10,2)"
    assert config.sources["sales"].columns["transaction_id"].required


def test_type_shorthand_and_normalisation(tmp_path: Path, tiny_lab_yaml: str) -> None:
    config = load_lab_config(_write(tmp_path, tiny_lab_yaml.replace('"DECIMAL(10,2)"', "decimal(10, 2)")))
    assert config.sources["orders"].duckdb_columns == {
        "order_id": "VARCHAR",
        "order_date": "DATE",
        "amount": "DECIMAL(10, 2)",
    }


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('amount: "DECIMAL(10,2)"', "amount: INTEGR"),
            "sources.orders.columns.amount.type: unknown DuckDB type 'INTEGR'",
        ),
        (
            ('amount: "DECIMAL(10,2)"', 'amount: "DECIMAL(\u0661\u0660,2)"'),  # Arabic-Indic digits
            "sources.orders.columns.amount.type: unknown DuckDB type",
        ),
        (("primary_key: [order_id]", "primary_key: [id]"), "sources.orders: primary_key names unknown column(s): id"),
        (("title: Tiny", "titel: Tiny"), "titel: unknown key"),
        (
            ('files: "orders*.csv"', 'files: "../other/*.csv"'),
            "sources.orders.files: '../other/*.csv' must be a glob inside data/raw",
        ),
        (("name: lab9_tiny", "name: Lab9-Tiny"), "name: 'Lab9-Tiny' is not a lab name"),
        (
            ("order_date: DATE", 'order_date: {type: DATE, pattern: "[0-9"}'),
            "sources.orders.columns.order_date.pattern: pattern '[0-9' is not a valid regular expression",
        ),
        (("primary_key: [order_id]", "max_reject_rate: 1.5"), "sources.orders.max_reject_rate: Input should be less"),
        (
            ('files: "orders*.csv"', "type: http"),
            "sources.orders: a source of type http needs an 'http' section",
        ),
        (
            ('files: "orders*.csv"', 'files: "o.csv"\n    http: {url: "http://x"}'),
            "sources.orders: http: only a source of type http has an 'http' section",
        ),
        (
            ('files: "orders*.csv"', 'type: http\n    encoding: cp1252\n    http: {url: "http://x"}'),
            "sources.orders: encoding: an http source lands its records as UTF-8",
        ),
        (
            ('files: "orders*.csv"', 'type: http\n    marker: _SUCCESS\n    http: {url: "http://x"}'),
            "sources.orders: marker: an http source lands complete files",
        ),
        (
            ('files: "orders*.csv"', 'files: "orders*.csv"\n    decimal_separator: ","'),
            "sources.orders: decimal_separator ',' cannot also be the delimiter",
        ),
        (
            ('files: "orders*.csv"', 'type: http\n    http: {url: "ftp://x"}'),
            "sources.orders.http.url: 'ftp://x' is not an http(s) URL",
        ),
        (
            ('files: "orders*.csv"', 'type: http\n    http: {url: "http://x", cursor_field: nope}'),
            "sources.orders: http.cursor_field 'nope' is not a declared column",
        ),
    ],
)
def test_bad_values_name_file_key_and_problem(
    tmp_path: Path, tiny_lab_yaml: str, change: tuple[str, str], expected: str
) -> None:
    path = _write(tmp_path, tiny_lab_yaml.replace(*change))
    with pytest.raises(ConfigError) as info:
        load_lab_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_name_must_match_folder(tmp_path: Path, tiny_lab_yaml: str) -> None:
    path = _write(tmp_path, tiny_lab_yaml, folder="lab8_other")
    with pytest.raises(ConfigError, match="must match the lab folder name 'lab8_other'"):
        load_lab_config(path)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: lab9_tiny\nsources: [\n")
    with pytest.raises(ConfigError, match=r"lab.yaml: line \d+: not valid YAML"):
        load_lab_config(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_lab_config(tmp_path / "lab9_tiny" / "lab.yaml")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("lab9_tiny\n", "is not a lab name"),  # a trailing newline ($ would accept it)
        ("lab\u0669_tiny", "is not a lab name"),  # an Arabic-Indic digit nine (\d would accept it)
        ("lab9_" + "x" * 80, "longer than 64 characters"),
    ],
)
def test_lab_name_is_ascii_whole_and_bounded(name: str, problem: str) -> None:
    assert lab_name_problem(name) is not None and problem in str(lab_name_problem(name))
    assert lab_name_problem("lab9_tiny") is None
    with pytest.raises(ValidationError) as info:
        LabConfig.model_validate({"name": name})
    assert problem in str(info.value)


def test_overlong_lab_name_in_lab_yaml_is_one_line(tmp_path: Path, tiny_lab_yaml: str) -> None:
    name = "lab9_" + "x" * 80
    path = _write(tmp_path, tiny_lab_yaml.replace("name: lab9_tiny", f"name: {name}"), folder="lab9_tiny")
    with pytest.raises(ConfigError) as info:
        load_lab_config(path)
    assert "name: " in str(info.value) and "longer than 64 characters" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("delimiter", ["';'", "'||'", "''", "'\\n'", "'\"'"])
def test_delimiter_must_be_one_plain_character(tmp_path: Path, tiny_lab_yaml: str, delimiter: str) -> None:
    text = tiny_lab_yaml.replace("    primary_key", f"    delimiter: {delimiter}\n    primary_key")
    path = _write(tmp_path, text)
    if delimiter == "';'":
        assert load_lab_config(path).sources["orders"].delimiter == ";"
        return
    with pytest.raises(ConfigError) as info:
        load_lab_config(path)
    message = str(info.value)
    assert "sources.orders.delimiter: " in message and "one character" in message and "\n" not in message


@pytest.mark.parametrize(
    ("block", "season"),
    [("{frequency: daily}", 7), ("{frequency: weekly}", 52), ("{frequency: monthly}", 12), ("{}", 52)],
)
def test_forecast_season_length_defaults_from_the_frequency(
    tmp_path: Path, tiny_lab_yaml: str, block: str, season: int
) -> None:
    config = load_lab_config(_write(tmp_path, f"{tiny_lab_yaml}\nforecast: {block}\n"))
    assert config.forecast is not None
    assert config.forecast.season_length == season


def test_forecast_block_becomes_dbt_vars_next_to_the_freshness_sla(tmp_path: Path, tiny_lab_yaml: str) -> None:
    text = f"{tiny_lab_yaml}\nforecast: {{frequency: quarterly, season_length: 8, horizon: 6, origins: 3}}\n"
    config = load_lab_config(_write(tmp_path, text))
    assert config.dbt_vars() == {
        "buildcpg_warn_after_hours": 168,
        "buildcpg_error_after_hours": 720,
        "forecast_frequency": "quarterly",
        "forecast_season_length": 8,
        "forecast_horizon": 6,
        "forecast_origins": 3,
        "forecast_intermittent_adi": 1.32,
        "forecast_long_season": 24,
        "forecast_baseline_margin": 0.05,
        "forecast_harmonic_regression": False,
        "forecast_promotions": True,
    }
    # a lab without the block gets the freshness vars only
    assert load_lab_config(_write(tmp_path, tiny_lab_yaml, folder="lab9_tiny")).dbt_vars() == {
        "buildcpg_warn_after_hours": 168,
        "buildcpg_error_after_hours": 720,
    }


def test_segments_block_becomes_dbt_vars(tmp_path: Path, tiny_lab_yaml: str) -> None:
    config = load_lab_config(_write(tmp_path, f"{tiny_lab_yaml}\nsegments: {{active_within_days: 180}}\n"))
    assert config.dbt_vars()["segments_active_within_days"] == 180
    config = load_lab_config(_write(tmp_path, f"{tiny_lab_yaml}\nsegments: {{}}\n"))
    assert config.dbt_vars()["segments_active_within_days"] == 365
    with pytest.raises(ConfigError, match=r"segments\.active_within_days: Input should be greater than or equal to 1"):
        load_lab_config(_write(tmp_path, f"{tiny_lab_yaml}\nsegments: {{active_within_days: 0}}\n"))


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("{frequency: hourly}", "forecast.frequency: Input should be 'daily', 'weekly', 'monthly' or 'quarterly'"),
        ("{origins: 1}", "forecast.origins: Input should be greater than or equal to 2"),
        ("{horizon: 0}", "forecast.horizon: Input should be greater than or equal to 1"),
        ("{horizn: 4}", "forecast.horizn: unknown key"),
    ],
)
def test_bad_forecast_block_names_the_key(tmp_path: Path, tiny_lab_yaml: str, block: str, expected: str) -> None:
    path = _write(tmp_path, f"{tiny_lab_yaml}\nforecast: {block}\n")
    with pytest.raises(ConfigError) as info:
        load_lab_config(path)
    assert expected in str(info.value)


def test_airflow_retries_default_to_zero_and_are_bounded(tmp_path: Path, tiny_lab_yaml: str) -> None:
    config = load_lab_config(_write(tmp_path, tiny_lab_yaml))
    assert (config.retries, config.retry_delay_s) == (0, 300)
    config = load_lab_config(_write(tmp_path, tiny_lab_yaml + "retries: 3\nretry_delay_s: 30\n"))
    assert (config.retries, config.retry_delay_s) == (3, 30)
    for bad, key in (("retries: -1", "retries"), ("retries: 11", "retries"), ("retry_delay_s: -5", "retry_delay_s")):
        path = _write(tmp_path, tiny_lab_yaml + bad + "\n")
        with pytest.raises(ConfigError, match=rf"^{path}: .*{key}") as info:
            load_lab_config(path)
        assert "\n" not in str(info.value)


def test_airflow_queue_is_optional_and_a_plain_name(tmp_path: Path, tiny_lab_yaml: str) -> None:
    assert load_lab_config(_write(tmp_path, tiny_lab_yaml)).queue is None
    assert load_lab_config(_write(tmp_path, tiny_lab_yaml + "queue: big-mem\n")).queue == "big-mem"
    for bad in ('""', '"two words"', "[a, b]"):
        path = _write(tmp_path, tiny_lab_yaml + f"queue: {bad}\n")
        with pytest.raises(ConfigError, match=rf"^{path}: .*queue") as info:
            load_lab_config(path)
        assert "\n" not in str(info.value)
