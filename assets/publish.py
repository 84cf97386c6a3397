"""bi_publication: after the marts build, copy the published models into the BI file and Parquet."""

import dagster as dg

from assets.analytics import analytics_assets
from assets.dbt import MANIFEST, cem_dbt_models
from assets.resources import CemSettings
from cem_pipeline.publish import publish
from cem_pipeline.report import nps_last_7_days


def _published_model_keys() -> list[dg.AssetKey]:
    """Every dbt model in the marts folder: the publication waits for all of them."""
    keys = []
    for key in cem_dbt_models.keys:
        props = cem_dbt_models.specs_by_key[key].metadata.get("dagster_dbt/fqn") if hasattr(
            cem_dbt_models, "specs_by_key") else None
        name = key.to_user_string()
        if props and len(props) > 2 and props[1] != "marts":
            continue
        if name.startswith(("fct_", "dim_", "mart_", "quality_report")):
            keys.append(key)
    return keys


@dg.asset(
    name="bi_publication",
    group_name="publish",
    deps=[*_published_model_keys(), *(k for a in analytics_assets for k in a.keys)],
    kinds={"duckdb", "parquet"},
    owners=["team:analytics-engineering"],
    tags={"layer": "publish"},
    description="The published models (dim_customer_360, fct_feedback, every mart_*, the quality report, the "
                "analytics tables) copied into a separate read-only DuckDB file for BI tools (written to a temp file, then "
                "atomically renamed) and one Parquet file per table. Never holds raw or masked tables.",
)
def bi_publication(context: dg.AssetExecutionContext, cem: CemSettings) -> dg.MaterializeResult:
    settings = cem.settings()
    result = publish(cem.warehouse(), settings.bi_file, settings.bi_parquet_dir, MANIFEST)
    with cem.warehouse().connect(read_only=True) as con:
        headline = nps_last_7_days(con)
    rows = "\n".join(f"| `{t}` | {n:,} |" for t, n in result.tables.items())
    return dg.MaterializeResult(metadata={
        "bi_file": dg.MetadataValue.path(str(result.bi_file)),
        "parquet_dir": dg.MetadataValue.path(str(result.parquet_dir)),
        "tables": len(result.tables),
        "rows": dg.MetadataValue.md("| table | rows |\n|---|---|\n" + rows),
        "duration_s": result.duration_s,
        "nps_last_7_days": dg.MetadataValue.md("NPS by channel, last 7 days, with the 95% margin of error:\n\n```\n"
                                               + headline + "\n```"),
    })
