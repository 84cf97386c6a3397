"""Analysis assets (group ``analytics``): key drivers and significant metric drops.

Each reads its aggregated dbt input through the engine (small at any volume, so it runs on one machine on
Spark too), calls the pure functions of :mod:`cem_pipeline.analytics` and replaces its tables in schema
``analytics`` of the DuckDB file in one transaction; the BI file publishes them beside the marts, and the
alert sensor delivers new metric alerts like customer alerts.

- ``mart_key_drivers`` (daily job): relative weights of each driver for likelihood-to-recommend, per segment.
- ``mart_outcome_effects`` (daily job): promoters' minus detractors' 30/90-day repurchase, churn and spend,
  naive and adjusted for member tier x tenure band (Mantel-Haenszel weights), from int_outcome_strata.
- ``mart_metric_alerts`` (hourly and daily): every test in ``analytics.metric_tests``, the significant drops
  (Benjamini-Hochberg across the run's tests) in ``analytics.mart_metric_alerts``.
"""


import dagster as dg
import pandas as pd

from assets.resources import CemSettings
from cem_pipeline import schema
from cem_pipeline.analytics.tables import key_driver_tables, metric_alert_tables, outcome_effect_tables, replace_tables
from cem_pipeline.config import analytics_settings

ANALYTICS_GROUP = "analytics"
KEY_DRIVERS_KEY = dg.AssetKey("mart_key_drivers")
OUTCOME_EFFECTS_KEY = dg.AssetKey(schema.OUTCOME_EFFECTS_MART)


def _input(cem: CemSettings, qualified: str) -> pd.DataFrame:
    frame = cem.engine().read_frame(qualified)
    if frame is None:
        raise dg.Failure(f"{qualified} is missing: run the dbt models first (the daily job builds them).")
    return frame


@dg.asset(
    key=KEY_DRIVERS_KEY, group_name=ANALYTICS_GROUP, kinds={"python", "numpy"}, owners=["team:analytics-engineering"],
    deps=[dg.AssetKey("int_key_driver_cells")], tags={"layer": "marts", "cadence": "daily"},
    description="Key drivers of likelihood-to-recommend per segment (overall, channel, journey stage): Johnson's "
                "relative weights with bootstrap 95% intervals, effect in points, share affected, fix-first rank "
                "(cem_pipeline/analytics/drivers.py). Table analytics.mart_key_drivers.",
)
def mart_key_drivers(context: dg.AssetExecutionContext, cem: CemSettings) -> dg.MaterializeResult:
    drivers_settings, _ = analytics_settings()
    tables = key_driver_tables(lambda qualified: _input(cem, qualified), drivers_settings)
    with cem.warehouse().connect() as con:
        replace_tables(con, tables)
    result = tables[schema.KEY_DRIVERS_TABLE][1]
    overall = result[result["segment_kind"] == "overall"].head(5)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": dg.MetadataValue.int(len(result)),
        "segments": dg.MetadataValue.int(result[["segment_kind", "segment_value"]].drop_duplicates().shape[0]),
        "top_drivers_overall": dg.MetadataValue.md(overall[["driver", "importance_share", "effect_points",
                                                            "direction", "share_affected"]].to_markdown(index=False))
        if len(overall) else "no segment has enough NPS responses",
    })


@dg.asset(
    key=dg.AssetKey(schema.METRIC_ALERTS_MART), group_name=ANALYTICS_GROUP, kinds={"python", "scipy"},
    owners=["team:analytics-engineering"],
    deps=[dg.AssetKey("int_metric_windows"), dg.AssetKey("int_segment_driver_windows")], tags={"layer": "marts"},
    description="Significant drops of NPS / CSAT / CES per store, channel, touchpoint and member tier (latest 1 and "
                "7 days vs the 28 days before; z-tests on the metrics' own variance, Benjamini-Hochberg across "
                "the run's tests), with the drivers that moved. Tables analytics.metric_tests and "
                "analytics.mart_metric_alerts (delivered by the deliver_cx_alerts sensor).",
)
def mart_metric_alerts(context: dg.AssetExecutionContext, cem: CemSettings) -> dg.MaterializeResult:
    _, drop_settings = analytics_settings()
    tables = metric_alert_tables(lambda qualified: _input(cem, qualified), drop_settings)
    with cem.warehouse().connect() as con:
        replace_tables(con, tables)
    tests, alerts = tables[schema.METRIC_TESTS_TABLE][1], tables[schema.METRIC_ALERTS_TABLE][1]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": dg.MetadataValue.int(len(alerts)),
        "tests": dg.MetadataValue.int(len(tests)),
        "alerts": dg.MetadataValue.md(alerts[["metric", "segment_kind", "segment_value", "change", "q_value",
                                              "drivers_moved"]].to_markdown(index=False)) if len(alerts) else "none",
    })


@dg.asset(
    key=OUTCOME_EFFECTS_KEY, group_name=ANALYTICS_GROUP, kinds={"python", "scipy"}, owners=["team:analytics-engineering"],
    deps=[dg.AssetKey("int_outcome_strata")], tags={"layer": "marts", "cadence": "daily"},
    description="Promoters' minus detractors' 30/90-day repurchase rate, churn and spend per customer, naive and "
                "adjusted for member tier x tenure band (Mantel-Haenszel-weighted strata) with 95% intervals "
                "(cem_pipeline/analytics/outcomes.py). Associations, not causal effects. Table "
                "analytics.mart_outcome_effects.",
)
def mart_outcome_effects(context: dg.AssetExecutionContext, cem: CemSettings) -> dg.MaterializeResult:
    tables = outcome_effect_tables(lambda qualified: _input(cem, qualified))
    with cem.warehouse().connect() as con:
        replace_tables(con, tables)
    result = tables[schema.OUTCOME_EFFECTS_TABLE][1]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": dg.MetadataValue.int(len(result)),
        "effects": dg.MetadataValue.md(result[["horizon_days", "metric", "naive_difference", "adjusted_difference",
                                               "adjusted_ci_low", "adjusted_ci_high"]].to_markdown(index=False))
        if len(result) else "no complete outcome window yet (the 30-day outcome needs 31 days of orders)",
    })


analytics_assets = [mart_key_drivers, mart_metric_alerts, mart_outcome_effects]
