"""Schedules and sensors: hourly and daily jobs, and a sensor that reports failed runs."""

from __future__ import annotations

import os

import dagster as dg

from cem_pipeline.config import load_settings

RAW_TO_MARTS = dg.AssetSelection.all() - dg.AssetSelection.groups("ml")

hourly_job = dg.define_asset_job(
    "hourly_cx_refresh", selection=RAW_TO_MARTS,
    description="Incremental: new source changes since each cursor -> gates -> staging -> marts.",
    tags={"cadence": "hourly"},
)
daily_job = dg.define_asset_job(
    "daily_cx_rebuild", selection=dg.AssetSelection.all(),
    description="Everything, with a full rebuild of staging and marts.",
    tags={"cadence": "daily"},
)

# A backfill over a day range, from the UI's launchpad or the CLI, e.g.
#   dagster job launch -w workspace.yaml -j backfill_cx_marts --config-json \
#     '{"ops": {"cem_dbt_models": {"config": {"backfill_start": "2026-09-01", "backfill_end": "2026-09-07"}}}}'
# It rebuilds those days of every incremental mart from staging (delete + insert): idempotent, so a
# rerun gives identical tables.
backfill_job = dg.define_asset_job(
    "backfill_cx_marts", selection=dg.AssetSelection.groups("marts", "publish"),
    description="Rebuild the marts for a day range (config: backfill_start, backfill_end), then republish.",
    tags={"cadence": "backfill"},
)


def _timezone() -> str:
    try:
        return load_settings(require_sources=False).timezone
    except Exception:  # a bad setting is reported when a run starts; schedules still load
        return os.environ.get("CEM_TIMEZONE", "Asia/Shanghai")


hourly_schedule = dg.ScheduleDefinition(
    name="hourly_cx_refresh_schedule", job=hourly_job, cron_schedule="5 * * * *",
    execution_timezone=_timezone(), default_status=dg.DefaultScheduleStatus.STOPPED,
)
daily_schedule = dg.ScheduleDefinition(
    name="daily_cx_rebuild_schedule", job=daily_job, cron_schedule="30 2 * * *",
    execution_timezone=_timezone(), default_status=dg.DefaultScheduleStatus.STOPPED,
)


@dg.run_failure_sensor(name="report_failed_runs", default_status=dg.DefaultSensorStatus.RUNNING)
def report_failed_runs(context: dg.RunFailureSensorContext):
    """Logs every failed run with its failing step and error; the alert webhook hooks in here."""
    error = context.failure_event.message if context.failure_event else "unknown error"
    context.log.error(f"run {context.dagster_run.run_id} of {context.dagster_run.job_name} failed: {error}")


schedules = [hourly_schedule, daily_schedule]
sensors = [report_failed_runs]
jobs = [hourly_job, daily_job, backfill_job]
