"""Quality assurance: dbt test and freshness results as data, and the quality score."""

from __future__ import annotations

from buildcpg_shared.quality.artifacts import DbtArtifacts, FreshnessOutcome, TestOutcome, read_artifacts
from buildcpg_shared.quality.score import QualityPart, QualityScore, score_lab

__all__ = [
    "DbtArtifacts",
    "FreshnessOutcome",
    "QualityPart",
    "QualityScore",
    "TestOutcome",
    "read_artifacts",
    "score_lab",
]
