"""raw_<entity>: one asset per source entity, landing new changes since the last committed cursor."""


import dagster as dg

from assets.resources import CemSettings
from cem_pipeline import schema
from cem_pipeline.config import source_declarations
from cem_pipeline.sources.catalog import ENTITIES, Entity

# Read every source declaration (CEM_SOURCES_DIR) now: a bad file stops the definitions from loading, with
# the file, the field and the fix, instead of failing the first run that reads that source.
DECLARATIONS = source_declarations()

RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)


def raw_asset(entity: Entity) -> dg.AssetsDefinition:
    declaration = DECLARATIONS[entity.system]

    @dg.asset(
        name=f"raw_{entity.name}",
        group_name="raw",
        kinds={"python", "duckdb"},
        owners=["team:data-engineering"],
        tags={"layer": "raw", "source_system": entity.system},
        description=f"{entity.description} Append-only landing of `{entity.system}` `{entity.path}` "
                    f"into `{schema.raw_table(entity.name)}` (full record JSON, load id, cursor). "
                    "Holds readable PII: nothing downstream reads it except the gates. "
                    f"Read as `{declaration.file}` declares: paginator `{declaration.paginator.type}`, "
                    f"auth `{declaration.auth.type}`.",
        retry_policy=RETRY,
    )
    def _raw(context: dg.AssetExecutionContext, cem: CemSettings) -> dg.MaterializeResult:
        result = cem.engine().land(cem.client(entity.system), entity)
        context.log.info(f"{entity.name}: served {result.records_served}, new rows {result.rows_written}")
        return dg.MaterializeResult(metadata={
            "records_served": result.records_served,
            "new_rows": result.rows_written,
            "duplicates_skipped": result.duplicates_skipped,
            "pages": result.pages,
            "cursor_from": result.cursor_from or "(start)",
            "cursor_reached": result.cursor_to or "(none)",
            "load_id": result.load_id,
            "duration_s": result.duration_s,
            "unparsable_pages_refetched": result.unparsable_pages_refetched,
            "table": schema.raw_table(entity.name),
        })

    return _raw


raw_assets = [raw_asset(e) for e in ENTITIES]
