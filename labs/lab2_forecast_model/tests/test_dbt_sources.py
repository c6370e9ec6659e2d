"""The dbt sources dbt really parsed come from lab.yaml (and dbt/sources_extra.yml), not a hand-kept copy."""

from __future__ import annotations

import json

from buildcpg_shared.pipeline.runner import RunReport
from buildcpg_shared.registry import Lab


def test_parsed_sources_follow_lab_yaml_and_extras(lab_run: tuple[Lab, RunReport]) -> None:
    lab, _ = lab_run
    manifest = json.loads((lab.paths.dbt_dir / "target" / "manifest.json").read_text(encoding="utf-8"))
    sources = {s["name"]: s for s in manifest["sources"].values() if s["source_name"] == "raw"}
    assert sorted(sources) == sorted(lab.config.sources)
    sla = lab.config.quality.freshness
    demand = sources["demand"]
    assert demand["loaded_at_field"] == "_loaded_at"
    assert demand["freshness"]["warn_after"] == {"count": sla.warn_after_hours, "period": "hour"}
    assert demand["freshness"]["error_after"] == {"count": sla.error_after_hours, "period": "hour"}
    assert demand["description"].startswith("Units sold per SKU, region and period.")
    assert list(demand["columns"]) == [*lab.config.sources["demand"].columns, "_source_file", "_loaded_at"]
    # optional inputs: no freshness, from dbt/sources_extra.yml
    for optional in ("promotions", "holidays"):
        freshness = sources[optional]["freshness"]
        assert freshness is None or (
            freshness["warn_after"]["count"] is None and freshness["error_after"]["count"] is None
        )
