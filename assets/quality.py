"""The reconciliation checks past dbt staging. (The data-quality report is the dbt model quality_report.)"""

import json

import dagster as dg

from assets.dbt import prepare_manifest
from assets.resources import CemSettings
from cem_pipeline import schema
from cem_pipeline.sources.catalog import ENTITIES, Entity


def staged_check(entity: Entity) -> dg.AssetChecksDefinition:
    model = entity.staging_model

    @dg.asset_check(
        asset=dg.AssetKey(model), name="reconciles_with_masked", blocking=True,
        description=f"Every record that passed the gates for {entity.name} is in `{model}` exactly once (distinct "
                    "masked record ids = staged keys), and every record id landed in raw is staged or quarantined.",
    )
    def _check(cem: CemSettings) -> dg.AssetCheckResult:
        rec = cem.engine().reconcile_staged(entity)
        return dg.AssetCheckResult(
            passed=rec.ok, severity=dg.AssetCheckSeverity.ERROR,
            description=None if rec.ok else "; ".join(rec.mismatches),
            metadata={"masked_ids": rec.masked_ids, "staged_rows": rec.staged_rows,
                      "quarantined_only_ids": rec.quarantined_only_ids,
                      "mismatches": dg.MetadataValue.json(rec.mismatches)})

    return _check


def _dbt_models() -> set[str]:
    manifest = json.loads(prepare_manifest().read_text())
    return {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}


# A source whose staging model is not written yet (README "Add a source", step 2) lands and gates, and gets
# its reconciliation check once dbt has the model.
staged_checks = [staged_check(e) for e in ENTITIES if e.staging_model in _dbt_models()]
