"""The lab.yaml model and its loader.

A bad file stops with one line naming the file, the key and the problem, e.g.
``labs/lab1/lab.yaml: sources.sales.columns.units.type: unknown DuckDB type 'INTEGR'``.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from buildcpg_shared.config.alerts import AlertsConfig, validate_cron
from buildcpg_shared.config.s3_glob import S3Glob, is_url
from buildcpg_shared.errors import ConfigError

LAB_NAME_RE = re.compile(r"lab[0-9]+_[a-z0-9]+(?:_[a-z0-9]+)*", re.ASCII)  # use with fullmatch
LAB_NAME_MAX = 64  # folder, package, database and env var names derive from it
IDENTIFIER_RE = re.compile(r"[a-z_][a-z0-9_]*", re.ASCII)  # use with fullmatch
_BASE_TYPES = {
    "BOOLEAN",
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "FLOAT",
    "REAL",
    "DOUBLE",
    "DECIMAL",
    "NUMERIC",
    "VARCHAR",
    "TEXT",
    "DATE",
    "TIME",
    "TIMESTAMP",
    "TIMESTAMPTZ",
    "INTERVAL",
    "UUID",
    "BLOB",
    "JSON",
}
INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
DECIMAL_TYPES = {"DECIMAL", "NUMERIC"}
TEMPORAL_TYPES = {"DATE", "TIME", "TIMESTAMP", "TIMESTAMPTZ"}
_TYPE_RE = re.compile(r"([A-Z]+)\s*(\(\s*[0-9]+\s*(,\s*[0-9]+\s*)?\))?", re.ASCII)  # use with fullmatch


def lab_name_problem(name: str) -> str | None:
    """Why ``name`` is not a lab name (None when it is one): ASCII ``lab<N>_<words>``, at most 64 characters."""
    if len(name) > LAB_NAME_MAX:
        return f"{name[:20]!r}... is not a lab name: longer than {LAB_NAME_MAX} characters ({len(name)})"
    if not LAB_NAME_RE.fullmatch(name):
        return f"{name!r} is not a lab name (lowercase 'lab<N>_<words>' in ASCII, e.g. lab4_pricing)"
    return None


def _valid_lab_name(value: str) -> str:
    """``value`` if it is a lab name, else the one-line problem (a field validator's ValueError)."""
    problem = lab_name_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _valid_gold_table(value: str) -> str:
    """``value`` if it names a gold table (``gold.<table>``): the only tables labs publish."""
    if not _TABLE_RE.fullmatch(value):
        raise ValueError(f"table {value!r} must be gold.<table> (lowercase snake_case)")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(_Strict):
    """One column of a source: its DuckDB type, where it comes from, and the rules its values meet."""

    type: str
    from_: str | None = Field(default=None, alias="from", description="the file's header of this column")
    format: str | None = Field(default=None, description="strptime format of a DATE/TIME/TIMESTAMP column")
    round: bool = Field(default=False, description="DECIMAL: round extra decimals instead of quarantining")
    required: bool = False
    description: str = ""
    accepted_values: list[str | int | float] | None = Field(default=None, description="the only values allowed")
    min: int | float | str | None = Field(default=None, description="smallest allowed value (number or ISO date)")
    max: int | float | str | None = Field(default=None, description="largest allowed value (number or ISO date)")
    pattern: str | None = Field(default=None, description="regular expression a text value must match in full")

    @field_validator("pattern")
    @classmethod
    def _valid_regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as err:
                raise ValueError(f"pattern {value!r} is not a valid regular expression: {err}") from None
        return value

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        normalized = " ".join(value.upper().split())
        match = _TYPE_RE.fullmatch(normalized)
        if not match or match.group(1) not in _BASE_TYPES:
            raise ValueError(f"unknown DuckDB type {value!r} (e.g. VARCHAR, INTEGER, DATE, DECIMAL(10,2))")
        return normalized

    @property
    def base_type(self) -> str:
        """The type without its parameters: ``DECIMAL`` for ``DECIMAL(10, 2)``."""
        return self.type.split("(")[0].strip()

    @model_validator(mode="after")
    def _options_fit_the_type(self) -> ColumnSpec:
        if self.round and self.base_type not in DECIMAL_TYPES:
            raise ValueError(f"round: only a DECIMAL column can round ({self.type} values must fit exactly)")
        if self.format is not None and self.base_type not in TEMPORAL_TYPES:
            raise ValueError(f"format: only a DATE, TIME or TIMESTAMP column has a format, not {self.type}")
        if self.from_ is not None and not self.from_.strip():
            raise ValueError("from: the header name must not be empty")
        return self


class PaginationConfig(_Strict):
    """How an HTTP source pages: by page number, or by following a next link in the body."""

    type: Literal["none", "page", "next_link"] = "none"
    page_param: str = "page"
    start: int = 1
    next_path: str = "next"
    max_pages: int = Field(default=1000, ge=1)


class HttpConfig(_Strict):
    """Where and how an HTTP source is polled (records land as a file under data/raw)."""

    url: str
    records_path: str = Field(default="", description="dotted path to the list of records in the JSON body")
    auth_header: str = "Authorization"
    auth_env: str | None = Field(default=None, description="env var holding the header value (never printed)")
    auth_prefix: str = "Bearer "
    params: dict[str, str] = Field(default_factory=dict)
    pagination: PaginationConfig = PaginationConfig()
    cursor_field: str | None = Field(default=None, description="record field that only grows (incremental)")
    cursor_param: str | None = Field(default=None, description="query parameter that sends the last cursor")
    timeout: float = Field(default=30, gt=0)
    retries: int = Field(default=3, ge=0)
    backoff: float = Field(default=1.0, ge=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value


class SourceConfig(_Strict):
    """A raw source: which files under data/raw, and the contract their rows must meet."""

    type: Literal["csv", "http"] = "csv"
    files: str = Field(default="", description="glob under the lab's data/raw folder, or s3://bucket/prefix/*.csv")
    description: str = ""
    columns: dict[str, ColumnSpec]
    primary_key: list[str] = Field(default_factory=list)
    delimiter: str = ","
    encoding: str = "utf-8"
    decimal_separator: Literal[".", ","] = Field(default=".", description="',' for European exports (1,5)")
    headers: Literal["exact", "snake_case"] = Field(
        default="exact", description="snake_case: normalise the file's header names before matching"
    )
    settle: float | None = Field(default=None, ge=0, description="seconds a file must be unchanged before loading")
    marker: str | None = Field(default=None, description="completion marker beside the file: '{name}.ok', '_SUCCESS'")
    date_format: str | None = Field(default=None, description="strptime format of DATE columns, e.g. %d/%m/%Y")
    timestamp_format: str | None = Field(default=None, description="strptime format of TIMESTAMP columns")
    max_reject_rate: float = Field(default=1.0, ge=0, le=1, description="fail the file above this share of rejects")
    http: HttpConfig | None = None

    @field_validator("columns", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """Accept ``name: TYPE`` as shorthand for ``name: {type: TYPE}``."""
        if isinstance(value, dict):
            return {k: ({"type": v} if isinstance(v, str) else v) for k, v in value.items()}
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_char_delimiter(cls, value: str) -> str:
        if len(value) != 1 or value in '\r\n"':
            raise ValueError(f"{value!r} must be one character, not a quote or line break (e.g. ',', ';', '|', tab)")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r} (e.g. utf-8, latin-1, cp1252, utf-16)") from None
        return value

    @field_validator("marker")
    @classmethod
    def _marker_beside_the_file(cls, value: str | None) -> str | None:
        if value is not None:
            if not value.strip() or "/" in value or "\\" in value or value in (".", ".."):
                raise ValueError(
                    f"{value!r} must be a file name beside the data file, e.g. '{{name}}.ok' or '_SUCCESS'"
                )
            try:
                value.format(name="f.csv", stem="f")
            except (KeyError, IndexError, ValueError) as err:
                raise ValueError(f"{value!r}: only {{name}} and {{stem}} may be filled in ({err})") from None
        return value

    @field_validator("files")
    @classmethod
    def _relative_glob(cls, value: str) -> str:
        if is_url(value):  # objects on storage: s3://bucket/prefix/*.csv
            S3Glob.parse(value)
            return value
        if value.startswith("/") or ".." in Path(value).parts:
            raise ValueError(f"{value!r} must be a glob inside data/raw (no absolute path, no '..')")
        return value

    @model_validator(mode="after")
    def _keys_are_columns(self) -> SourceConfig:
        if not self.columns:
            raise ValueError("columns: at least one column is needed")
        for name in self.columns:
            if not IDENTIFIER_RE.fullmatch(name):
                raise ValueError(f"column name {name!r} must be lowercase snake_case")
        if self.decimal_separator == self.delimiter:
            raise ValueError(f"decimal_separator {self.decimal_separator!r} cannot also be the delimiter (use ';')")
        sources = [spec.from_ for spec in self.columns.values() if spec.from_ is not None]
        if len(sources) != len(set(sources)):
            raise ValueError("columns: two columns name the same 'from' header")
        missing = [k for k in self.primary_key if k not in self.columns]
        if missing:
            raise ValueError(f"primary_key names unknown column(s): {', '.join(missing)}")
        if self.type == "http":
            if self.http is None:
                raise ValueError("a source of type http needs an 'http' section (url, records_path, ...)")
            if self.http.cursor_field and self.http.cursor_field not in self.columns:
                raise ValueError(f"http.cursor_field {self.http.cursor_field!r} is not a declared column")
            if codecs.lookup(self.encoding).name != "utf-8" or self.decimal_separator != ".":
                raise ValueError("encoding: an http source lands its records as UTF-8 with '.' decimals; remove it")
            if self.marker is not None or self.settle is not None:
                key = "marker" if self.marker is not None else "settle"
                raise ValueError(f"{key}: an http source lands complete files (written, then renamed); remove it")
        elif not self.files:
            raise ValueError("files: a glob under data/raw is required for a csv source")
        elif self.remote and (self.marker is not None or self.settle is not None):
            key = "marker" if self.marker is not None else "settle"
            raise ValueError(f"{key}: an s3:// source lists complete objects only (an upload is atomic); remove it")
        elif self.http is not None:
            raise ValueError("http: only a source of type http has an 'http' section")
        return self

    @property
    def remote(self) -> bool:
        """Are this source's files objects on storage (``files: s3://...``), not files under data/raw?"""
        return self.type == "csv" and is_url(self.files)

    def file_glob(self, name: str) -> str:
        """The glob of this source's files under data/raw (HTTP sources land under ``_http/<name>/``)."""
        return f"_http/{name}/*.csv" if self.type == "http" else self.files

    @property
    def duckdb_columns(self) -> dict[str, str]:
        """Column name → DuckDB type, in file order."""
        return {name: spec.type for name, spec in self.columns.items()}


class QualityWeights(_Strict):
    """Weight of each part of the quality score (any non-negative numbers; the score divides by their sum)."""

    tests: float = Field(default=30, ge=0)
    validity: float = Field(default=20, ge=0)
    completeness: float = Field(default=15, ge=0)
    uniqueness: float = Field(default=15, ge=0)
    freshness: float = Field(default=10, ge=0)
    volume: float = Field(default=10, ge=0)

    @model_validator(mode="after")
    def _some_weight(self) -> QualityWeights:
        if not sum(self.model_dump().values()):
            raise ValueError("at least one weight must be above 0")
        return self


class FreshnessSLA(_Strict):
    """How old the newest ``_loaded_at`` of a source may be before dbt's freshness warns or errors."""

    warn_after_hours: int = Field(default=168, ge=1)
    error_after_hours: int = Field(default=720, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> FreshnessSLA:
        if self.error_after_hours < self.warn_after_hours:
            raise ValueError("error_after_hours must be at least warn_after_hours")
        return self

    def dbt_vars(self) -> dict[str, int]:
        """The dbt vars the sources yml reads in its ``freshness`` block (one source of truth: lab.yaml)."""
        return {
            "buildcpg_warn_after_hours": self.warn_after_hours,
            "buildcpg_error_after_hours": self.error_after_hours,
        }


class VolumeConfig(_Strict):
    """When a size (or this run's new rows) counts as a sudden drop or spike against the median of recent runs."""

    window: int = Field(default=5, ge=1, description="how many recent sizes / increments form the baseline")
    max_drop: float = Field(default=0.3, gt=0, lt=1, description="flag below (1 - max_drop) x baseline")
    max_spike: float = Field(default=1.0, gt=0, description="flag above (1 + max_spike) x baseline")


class QualityConfig(_Strict):
    """Quality thresholds of the lab (see docs/quality.md)."""

    min_score: float = Field(default=80, ge=0, le=100)
    weights: QualityWeights = QualityWeights()
    freshness: FreshnessSLA = FreshnessSLA()
    volume: VolumeConfig = VolumeConfig()


DEFAULT_SEASON_LENGTH = {"daily": 7, "weekly": 52, "monthly": 12, "quarterly": 4}


class ForecastConfig(_Strict):
    """The ``forecast:`` block of a forecasting lab: the series' frequency and the backtest's shape.

    dbt vars (``forecast_*``, see :meth:`dbt_vars`) generated into the lab's dbt_project.yml
    (``pipeline/dbt_project_vars``), so a lab's models read lab.yaml only.
    """

    frequency: Literal["daily", "weekly", "monthly", "quarterly"] = "weekly"
    season_length: int = Field(default=0, ge=0, description="periods per season; 0 or absent: from the frequency")
    horizon: int = Field(default=12, ge=1, description="periods forecast ahead (and length of a backtest window)")
    origins: int = Field(default=4, ge=2, description="backtest windows: select on all but the last, report the last")
    intermittent_adi: float = Field(
        default=1.32, gt=1, description="average demand interval at or above which a series is intermittent"
    )
    long_season: int = Field(
        default=24, ge=1, description="above this season length the slow seasonal AutoETS/AutoARIMA are left out"
    )
    harmonic_regression: bool = Field(
        default=False,
        description="long seasons: add the dynamic harmonic regression candidate (off: it lost on weekly gasoline)",
    )
    promotions: bool = Field(
        default=True,
        description="regular series with promotions in their history get a candidate with the plan as regressor",
    )
    baseline_margin: float = Field(
        default=0.05,
        ge=0,
        lt=1,
        description="a candidate replaces seasonal naive only if its selection MAE is this share below the baseline's",
    )

    @model_validator(mode="after")
    def _default_season(self) -> ForecastConfig:
        if not self.season_length:  # frozen model: set the derived default once, at validation
            object.__setattr__(self, "season_length", DEFAULT_SEASON_LENGTH[self.frequency])
        return self

    def dbt_vars(self) -> dict[str, object]:
        """The dbt vars the forecast models read (``var('forecast_horizon')``, ...)."""
        return {f"forecast_{key}": value for key, value in self.model_dump().items()}


class SegmentsConfig(_Strict):
    """The ``segments:`` block of a customer-segmentation lab (lab 3): absolute limits next to the relative scores.

    Generated into dbt vars ``segments_<key>`` like the forecast block (docs/lab3-segments.md).
    """

    active_within_days: int = Field(
        default=365,
        ge=1,
        description="a customer who has not bought for more than this many days is never a champion or loyal",
    )

    def dbt_vars(self) -> dict[str, object]:
        """The dbt vars the segment rules read (``var('segments_active_within_days')``)."""
        return {f"segments_{key}": value for key, value in self.model_dump().items()}


# --- report: charts of the lab's own results (issue 11; docs/contracts.md "report") ---
_COLUMN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_TABLE_RE = re.compile(r"gold\.[a-z_][a-z0-9_]*", re.ASCII)


class ChartSpec(_Strict):
    """One chart of a gold table in the report: rows of ``table`` (filtered, ordered, limited) drawn as ``mark``."""

    title: str = Field(min_length=1)
    table: str = Field(description="gold.<table> of the serving copy")
    mark: Literal["line", "bar", "area", "point"] = "bar"
    x: str
    y: list[str] = Field(min_length=1, description="one column, or several drawn as series (coloured by name)")
    color: str | None = Field(default=None, description="column whose values are separate series")
    aggregate: Literal["sum", "mean", "min", "max", "count"] | None = Field(
        default=None, description="combine the y values of rows with the same x (and color)"
    )
    band: tuple[str, str] | None = Field(default=None, description="lower and upper column of a shaded interval")
    where: str | None = Field(default=None, description="SQL filter on the table's rows (read-only)")
    order_by: str | None = Field(default=None, description="SQL order, e.g. 'revenue desc'")
    limit: int = Field(default=500, ge=1, le=5000, description="rows charted at most")
    horizontal: bool = Field(default=False, description="bars along x (for rankings: categories on the y axis)")

    @field_validator("y", mode="before")
    @classmethod
    def _one_or_more(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("table")
    @classmethod
    def _gold_table(cls, value: str) -> str:
        return _valid_gold_table(value)

    @model_validator(mode="after")
    def _columns(self) -> ChartSpec:
        for column in (self.x, *self.y, *([self.color] if self.color else []), *(self.band or ())):
            if not _COLUMN_RE.fullmatch(column):
                raise ValueError(f"column {column!r} is not a plain column name")
        if self.color and len(self.y) > 1:
            raise ValueError("color and several y columns both make series: use one of them")
        return self


class ReportConfig(_Strict):
    """The ``report:`` block: which gold tables the report charts, and how."""

    charts: list[ChartSpec] = Field(default_factory=list)


# --- end report ---


# --- monitors: column monitors of gold (and silver) tables (issue 26; docs/quality.md "Column monitors") ---
_MONITORED_RE = re.compile(r"(gold|silver)\.[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*")


class MonitorsConfig(_Strict):
    """The ``monitors:`` block: columns whose null rate, distinct count, mean, min and max are kept per run;
    a value outside median ± k x MAD of the last ``window`` runs is an anomaly."""

    columns: list[str] = Field(min_length=1, description="<gold|silver>.<table>.<column>")
    k: float = Field(default=4.0, gt=0, description="band width in (scaled) median absolute deviations")
    window: int = Field(default=14, ge=3, le=365, description="past runs the band is learned from")
    min_runs: int = Field(default=5, ge=3, description="past runs needed before a value can be an anomaly")
    severity: Literal["error", "warn"] = Field(
        default="error", description="error: an anomaly fails Inspect (alerts like a failed test); warn: warns"
    )
    weight: float = Field(default=10, ge=0, description="weight of the 'monitors' part of the quality score")

    @field_validator("columns")
    @classmethod
    def _plain_columns(cls, value: list[str]) -> list[str]:
        for column in value:
            if not _MONITORED_RE.fullmatch(column):
                raise ValueError(f"monitored column {column!r} is not <gold|silver>.<table>.<column>")
        return value


# --- end monitors ---


class InputConfig(_Strict):
    """One published gold table of another lab that this lab reads (``inputs:`` in lab.yaml).

    The table is read from the upstream lab's serving copy only (read-only), copied into this lab's
    ``inputs`` schema at Load, and declared to dbt as ``source('inputs', <name>)``.
    """

    lab: str = Field(description="the upstream lab (a folder under labs/)")
    table: str = Field(description="gold.<table> it publishes")
    description: str = ""
    columns: list[str] = Field(
        default_factory=list, description="columns this lab needs: a published table without one fails Check"
    )

    @field_validator("lab")
    @classmethod
    def _upstream_name(cls, value: str) -> str:
        return _valid_lab_name(value)

    @field_validator("table")
    @classmethod
    def _gold_table(cls, value: str) -> str:
        return _valid_gold_table(value)

    @field_validator("columns")
    @classmethod
    def _plain_columns(cls, value: list[str]) -> list[str]:
        for column in value:
            if not _COLUMN_RE.fullmatch(column):
                raise ValueError(f"column {column!r} is not a plain column name")
        return value

    @property
    def table_name(self) -> str:
        """The table's name without the ``gold.`` schema."""
        return self.table.split(".", 1)[1]


class GoldConfig(_Strict):
    """Which dbt models are the lab's gold when they do not land in the ``gold`` schema themselves
    (an adopted dbt project): each becomes a view ``gold.<model>`` that is inspected, scored, charted
    and published."""

    select: list[str] = Field(
        min_length=1, description="dbt selection, one selector per item (union), e.g. [marts] or [orders, tag:kpi]"
    )

    @field_validator("select")
    @classmethod
    def _not_blank(cls, value: list[str]) -> list[str]:
        if any(not item.strip() for item in value):
            raise ValueError("a gold selector is empty")
        return [item.strip() for item in value]


class LabConfig(_Strict):
    """A whole lab.yaml."""

    name: str
    title: str = ""
    description: str = ""
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    quality: QualityConfig = QualityConfig()
    schedule: str | None = Field(default=None, description="cron expression: when `buildcpg run --due` runs it")
    alerts: AlertsConfig = AlertsConfig()
    timeout_s: float | None = Field(default=None, gt=0, description="kill a run of this lab after this many seconds")
    forecast: ForecastConfig | None = Field(default=None, description="frequency and backtest of a forecasting lab")
    segments: SegmentsConfig | None = Field(default=None, description="absolute limits of a segmentation lab")
    report: ReportConfig = Field(default_factory=ReportConfig, description="charts of gold tables in the report")
    monitors: MonitorsConfig | None = Field(
        default=None, description="column monitors: null rate, distinct, mean, min, max per run, with anomaly bands"
    )
    inputs: dict[str, InputConfig] = Field(
        default_factory=dict, description="published gold tables of other labs this lab reads (docs/lab-graph.md)"
    )
    gold: GoldConfig | None = Field(
        default=None, description="dbt models published as gold.<model> (an adopted project's marts, say)"
    )
    retries: int = Field(
        default=0, ge=0, le=10, description="Airflow: retries of a failed run of this lab (each attempt is recorded)"
    )
    retry_delay_s: float = Field(default=300, ge=0, le=86400, description="Airflow: seconds between two attempts")
    queue: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="Airflow: the Celery queue of this lab's task (workers started with -q <queue>); none: default",
    )

    def dbt_vars(self) -> dict[str, object]:
        """Every dbt var lab.yaml sets: the freshness SLA, plus the forecast and segments blocks when present."""
        return {
            **self.quality.freshness.dbt_vars(),
            **(self.forecast.dbt_vars() if self.forecast else {}),
            **(self.segments.dbt_vars() if self.segments else {}),
        }

    @field_validator("name")
    @classmethod
    def _lab_name(cls, value: str) -> str:
        return _valid_lab_name(value)

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return validate_cron(value)

    @field_validator("sources")
    @classmethod
    def _source_names(cls, value: dict[str, SourceConfig]) -> dict[str, SourceConfig]:
        for name in value:
            if not IDENTIFIER_RE.fullmatch(name):
                raise ValueError(f"source name {name!r} must be lowercase snake_case")
        return value

    @field_validator("inputs")
    @classmethod
    def _input_names(cls, value: dict[str, InputConfig]) -> dict[str, InputConfig]:
        for name in value:
            if not IDENTIFIER_RE.fullmatch(name):
                raise ValueError(f"input name {name!r} must be lowercase snake_case")
        return value

    @model_validator(mode="after")
    def _not_own_input(self) -> LabConfig:
        for name, spec in self.inputs.items():
            if spec.lab == self.name:
                raise ValueError(f"inputs.{name}: a lab cannot read its own output ({spec.table})")
        return self

    @property
    def upstream_labs(self) -> list[str]:
        """The labs whose published gold this lab reads, each once, in declaration order."""
        return list(dict.fromkeys(spec.lab for spec in self.inputs.values()))


def _location(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("function-after", "function-before")]
    return ".".join(parts) or "(top level)"


def load_lab_config(path: Path) -> LabConfig:
    """Read and validate a lab.yaml; raise ConfigError with file, key and problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(f"{path}:{where}: not valid YAML: {problem}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys (name, sources, ...), got {type(data).__name__}")
    try:
        config = LabConfig.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        more = f" (and {err.error_count() - 1} more problem(s))" if err.error_count() > 1 else ""
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see docs/contracts.md)"
        where = f"{_location(first['loc'])}: " if first["loc"] else ""  # a whole-file rule names its keys
        raise ConfigError(f"{path}: {where}{message}{more}") from err
    folder = path.parent.name
    if config.name != folder:
        raise ConfigError(f"{path}: name: {config.name!r} must match the lab folder name {folder!r}")
    return config
