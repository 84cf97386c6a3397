"""Privacy lineage: no dbt model may read raw. Every source a model depends on is in the `masked`
source set (dbt_project/models/staging/_sources.yml), and no model's SQL/Python names the raw schema."""

from __future__ import annotations

import json
import re

from assets.dbt import prepare_manifest
from cem_pipeline import schema

RAW_REF = re.compile(rf"\b{schema.RAW}\s*\.", re.I)


def _manifest() -> dict:
    return json.loads(prepare_manifest().read_text())


def test_models_depend_only_on_masked_sources():
    manifest = _manifest()
    sources = manifest["sources"]
    allowed = {schema.MASKED, schema.ML, schema.QUARANTINE}
    # Sources are the masked tables, or tables computed from them outside dbt (ml: sentiment scores;
    # quarantine: the gates' ledger and rule hits, whose values are masked renderings).
    for uid, src in sources.items():
        assert src["schema"] in allowed, f"source {uid} points at schema {src['schema']!r}"
    bad = []
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] not in ("model", "snapshot", "seed"):
            continue
        for dep in node.get("depends_on", {}).get("nodes", []):
            if dep.startswith("source.") and sources[dep]["schema"] not in allowed:
                bad.append((uid, dep))
    assert bad == [], f"models reading a non-masked source: {bad}"
    assert any(n["resource_type"] == "model" for n in manifest["nodes"].values())


def test_no_model_sql_mentions_raw():
    manifest = _manifest()
    offenders = [uid for uid, node in manifest["nodes"].items()
                 if node["resource_type"] == "model" and RAW_REF.search(node.get("raw_code") or "")]
    assert offenders == [], f"models naming the raw schema: {offenders}"
