"""The data-quality report asset, and the reconciliation checks past dbt staging."""

import dagster as dg

from assets.resources import CemSettings
from cem_pipeline import schema
from cem_pipeline.quality.report import REPORT_TABLE, build_report, to_markdown
from cem_pipeline.reconcile import reconcile_staged
from cem_pipeline.sources.catalog import ENTITIES, Entity


@dg.asset(
    key="quality_report",
    deps=[dg.AssetKey(f"masked_{e.name}") for e in ENTITIES],
    group_name="quality",
    kinds={"python", "duckdb"},
    owners=["team:data-engineering"],
    tags={"layer": "marts"},
    description=f"`{REPORT_TABLE}`: per source and day, rows gated, pass rate, top failing rules, warnings "
                "and unknown fields (schema drift). Published for BI; the UI shows it as a table.",
)
def quality_report(context: dg.AssetExecutionContext, cem: CemSettings) -> dg.MaterializeResult:
    rows = build_report(cem.warehouse())
    total_in = sum(r["rows_in"] for r in rows)
    total_passed = sum(r["passed"] for r in rows)
    return dg.MaterializeResult(metadata={
        "report": dg.MetadataValue.md(to_markdown(rows)),
        "rows_in": total_in,
        "pass_rate": round(total_passed / total_in, 6) if total_in else 1.0,
        "quarantined": sum(r["quarantined"] for r in rows),
        "table": REPORT_TABLE,
    })


def staged_check(entity: Entity) -> dg.AssetChecksDefinition:
    model = entity.staging_model

    @dg.asset_check(
        asset=dg.AssetKey(model), name="reconciles_with_masked", blocking=True,
        description=f"Every record that passed the gates for {entity.name} is in `{model}` exactly once (distinct "
                    "masked record ids = staged keys), and every record id landed in raw is staged or quarantined.",
    )
    def _check(cem: CemSettings) -> dg.AssetCheckResult:
        rec = reconcile_staged(cem.warehouse(), entity)
        return dg.AssetCheckResult(
            passed=rec.ok, severity=dg.AssetCheckSeverity.ERROR,
            description=None if rec.ok else "; ".join(rec.mismatches),
            metadata={"masked_ids": rec.masked_ids, "staged_rows": rec.staged_rows,
                      "quarantined_only_ids": rec.quarantined_only_ids,
                      "mismatches": dg.MetadataValue.json(rec.mismatches)})

    return _check


staged_checks = [staged_check(e) for e in ENTITIES]
