"""The one Definitions object of the CEM pipeline (workspace.yaml loads it)."""

import dagster as dg
from dagster_dbt import DbtCliResource

from assets.analytics import analytics_assets
from assets.dbt import cem_dbt_models, dbt_executable, dbt_project
from assets.freshness import with_mart_freshness
from assets.gates import masked_assets
from assets.ml import ml_assets
from assets.quality import staged_checks
from assets.publish import bi_publication
from assets.raw import raw_assets
from assets.resources import CemSettings
from sensors.alerts import deliver_cx_alerts
from sensors.failures import report_failed_runs
from sensors.jobs import jobs
from sensors.schedules import schedules

defs = dg.Definitions(
    assets=with_mart_freshness([*raw_assets, *masked_assets, *ml_assets, cem_dbt_models,
                                     *analytics_assets, bi_publication]),
    asset_checks=staged_checks,
    jobs=jobs,
    schedules=schedules,
    sensors=[report_failed_runs, deliver_cx_alerts],
    resources={
        "cem": CemSettings(),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
    },
    # One DuckDB file takes one writer at a time: steps run one after another in the run process.
    executor=dg.in_process_executor,
)
