"""The ``gold:`` selection of lab.yaml: chosen dbt models become views ``gold.<model>``.

An adopted dbt project keeps its own schemas. After each Transform, every model the selection picks
(dbt selection syntax, resolved by ``dbt ls``) gets a view ``gold.<alias>`` over the relation dbt
built, so Inspect, the quality score, the report and Publish (which copies gold views as tables into
the serving file) see it like any gold table. Views of models no longer selected are dropped; only
views this module made are ever dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb

from buildcpg_shared.errors import StepError
from buildcpg_shared.pipeline import fingerprint
from buildcpg_shared.schema import GOLD_SCHEMA, quote_ident

_STATE_KEY = "gold_views"  # the views made by the last run (the only ones this module may drop)


@dataclass(frozen=True)
class GoldModel:
    """One selected model and where dbt materialized it."""

    name: str
    schema: str
    alias: str


def gold_models(nodes: list[Any], select: list[str]) -> list[GoldModel]:
    """The selected models that have a relation (ephemeral ones have none); one clear error when the
    selection picks nothing or two models would share one gold name."""
    picked = [
        GoldModel(str(n.name), str(n.schema), str(n.alias or n.name))
        for n in nodes
        if getattr(getattr(n, "config", None), "materialized", "") != "ephemeral"
    ]
    if not picked:
        raise StepError(f'lab.yaml gold: select {" ".join(select)!r} picks no model (check with `make dbt ARGS="ls"`)')
    seen: dict[str, GoldModel] = {}
    for model in picked:
        other = seen.setdefault(model.alias, model)
        if other is not model:
            raise StepError(
                f"lab.yaml gold: {other.schema}.{other.alias} and {model.schema}.{model.alias} would both be "
                f"gold.{model.alias}: select one of them"
            )
    return picked


def refresh_gold_views(con: duckdb.DuckDBPyConnection, models: list[GoldModel]) -> list[str]:
    """Create or replace ``gold.<alias>`` for each model, drop the views of models no longer selected."""
    before = json.loads(fingerprint.get_state(con, _STATE_KEY) or "[]")
    made = [m.alias for m in models if m.schema != GOLD_SCHEMA]  # a model already in gold is gold itself
    con.execute(f"create schema if not exists {GOLD_SCHEMA}")
    for model in models:
        if model.schema != GOLD_SCHEMA:
            con.execute(
                f"create or replace view {GOLD_SCHEMA}.{quote_ident(model.alias)} as "
                f"select * from {quote_ident(model.schema)}.{quote_ident(model.alias)}"
            )
    for alias in sorted(set(before) - set(made)):
        con.execute(f"drop view if exists {GOLD_SCHEMA}.{quote_ident(alias)}")
    fingerprint.set_state(con, _STATE_KEY, json.dumps(sorted(made)))
    return [f"{GOLD_SCHEMA}.{m.alias}" for m in models]
