"""masked_<entity>: the quality gate and the privacy gate over each new raw load, with the checks
that block downstream when a batch is bad and prove that nothing was lost."""


import dagster as dg

from assets.resources import CemSettings
from cem_pipeline import schema
from cem_pipeline.sources.catalog import ENTITIES, Entity


def preview_markdown(entity: Entity, records: list[dict], max_chars: int = 40) -> str:
    """A markdown table of a few masked records (display forms and redacted text only: no tokens)."""
    if not records:
        return "(no new rows)"
    # The id, the masked identifiers and the redacted text first: what a reviewer of the gate looks at.
    ranked = sorted((f for f in entity.fields if f.type != "json"),
                    key=lambda f: (f.name != entity.id_field, f.pii is None))
    columns = [f.name for f in ranked][:8]

    def cell(value) -> str:
        text = "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= max_chars else text[: max_chars - 1] + "…"

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in records]
    return "\n".join(lines)


def masked_asset(entity: Entity) -> dg.AssetsDefinition:
    key = dg.AssetKey(f"masked_{entity.name}")
    gate_check = dg.AssetCheckSpec(
        "quarantine_share_below_threshold", asset=key, blocking=True,
        description="Blocks everything downstream when the share of quarantined rows in the new "
                    "batch crosses the threshold (CemSettings.quarantine_threshold).")
    warn_check = dg.AssetCheckSpec(
        "no_rows_quarantined", asset=key, blocking=False,
        description="Warns (does not block) when any row of the new batch was quarantined or raised a "
                    "warning rule, or the batch carries fields the contract does not know (schema drift).")
    reconcile_check = dg.AssetCheckSpec(
        "reconciles_with_raw", asset=key, blocking=True,
        description="For every load: served = written + duplicates; written = passed + quarantined; "
                    "the masked and quarantine tables hold exactly those rows.")

    @dg.asset(
        key=key,
        deps=[dg.AssetKey(f"raw_{entity.name}")],
        group_name="privacy",
        kinds={"python", "duckdb"},
        owners=["team:data-engineering"],
        tags={"layer": "masked", "source_system": entity.system},
        check_specs=[gate_check, warn_check, reconcile_check],
        description=f"`{schema.masked_table(entity.name)}`: new raw rows that passed the quality rules, "
                    "with identifiers as keyed tokens, display fields masked and PII in free text "
                    f"redacted. Failing rows go to `{schema.QUARANTINE_TABLE}` with the rule.",
    )
    def _masked(context: dg.AssetExecutionContext, cem: CemSettings):
        key, notice = cem.pii_key()
        if notice:
            context.log.warning(notice)
        engine = cem.engine()
        result = engine.gate(entity, key)
        rec = engine.reconcile(entity)
        threshold = cem.quarantine_threshold
        yield dg.MaterializeResult(metadata={
            "rows_in": result.rows_in,
            "passed": result.passed,
            "quarantined": result.quarantined,
            "pass_rate": round(1 - result.failure_share, 6) if result.rows_in else 1.0,
            "failing_rules": dg.MetadataValue.json(result.rules),
            "warning_rules": dg.MetadataValue.json(result.warnings),
            "redactions": dg.MetadataValue.json(result.redactions),
            "unknown_fields": ", ".join(result.unknown_fields) or "(none)",
            "loads_gated": len(result.loads),
            "duration_s": result.duration_s,
            "preview": dg.MetadataValue.md(preview_markdown(entity, result.preview)),
        })
        yield dg.AssetCheckResult(
            check_name="quarantine_share_below_threshold",
            passed=result.failure_share <= threshold,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"failure_share": round(result.failure_share, 6), "threshold": threshold,
                      "rules": dg.MetadataValue.json(result.rules)},
            description=None if result.failure_share <= threshold else
            f"{result.quarantined} of {result.rows_in} new rows quarantined "
            f"({result.failure_share:.1%} > {threshold:.1%}); see {schema.QUARANTINE_TABLE}.",
        )
        clean = not result.quarantined and not result.warnings and not result.unknown_fields
        yield dg.AssetCheckResult(
            check_name="no_rows_quarantined", passed=clean, severity=dg.AssetCheckSeverity.WARN,
            metadata={"quarantined": result.quarantined, "warned_rows": result.warned_rows,
                      "rules": dg.MetadataValue.json(result.rules),
                      "warnings": dg.MetadataValue.json(result.warnings),
                      "unknown_fields": ", ".join(result.unknown_fields) or "(none)"},
            description=None if clean else
            f"{result.quarantined} rows quarantined ({', '.join(sorted(result.rules)) or 'none'}), "
            f"{result.warned_rows} rows with warnings ({', '.join(sorted(result.warnings)) or 'none'}), "
            f"unknown fields: {', '.join(result.unknown_fields) or 'none'}.",
        )
        yield dg.AssetCheckResult(
            check_name="reconciles_with_raw", passed=rec.ok, severity=dg.AssetCheckSeverity.ERROR,
            metadata={"loads": rec.loads, "served": rec.served, "written": rec.written,
                      "duplicates": rec.duplicates, "passed": rec.passed, "quarantined": rec.quarantined,
                      "mismatches": dg.MetadataValue.json(rec.mismatches[:20])},
        )

    return _masked


masked_assets = [masked_asset(e) for e in ENTITIES]
