"""The failure sensor: every failed run is logged with its failing step and error."""

from __future__ import annotations

import dagster as dg


@dg.run_failure_sensor(name="report_failed_runs", default_status=dg.DefaultSensorStatus.RUNNING)
def report_failed_runs(context: dg.RunFailureSensorContext):
    """Logs every failed run with its failing step and error; the alert webhook hooks in here."""
    error = context.failure_event.message if context.failure_event else "unknown error"
    context.log.error(f"run {context.dagster_run.run_id} of {context.dagster_run.job_name} failed: {error}")
