"""The schedules: the hourly and daily jobs in ``CEM_TIMEZONE``, stopped until started in the UI."""

from __future__ import annotations

import dagster as dg

from cem_pipeline.config import DEFAULT_TIMEZONE, ConfigError, timezone_setting
from sensors.jobs import daily_job, hourly_job


def _timezone() -> str:
    try:
        return timezone_setting()
    except ConfigError:  # a bad setting is reported when a run starts; schedules still load
        return DEFAULT_TIMEZONE


hourly_schedule = dg.ScheduleDefinition(
    name="hourly_cx_refresh_schedule", job=hourly_job, cron_schedule="5 * * * *",
    execution_timezone=_timezone(), default_status=dg.DefaultScheduleStatus.STOPPED,
)
daily_schedule = dg.ScheduleDefinition(
    name="daily_cx_rebuild_schedule", job=daily_job, cron_schedule="30 2 * * *",
    execution_timezone=_timezone(), default_status=dg.DefaultScheduleStatus.STOPPED,
)

schedules = [hourly_schedule, daily_schedule]
