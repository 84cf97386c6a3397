"""The closed-loop sensor: delivers each new row of marts.mart_cx_alerts once to the webhook
(CEM_ALERT_WEBHOOK_URL; without one, the outbox file data/alerts_outbox.jsonl) and records the
outcome in ops.alert_deliveries. The domain logic lives in cem_pipeline.alerts."""

from __future__ import annotations

import dagster as dg

from cem_pipeline.alerts import alert_settings, deliver_pending, make_transport
from cem_pipeline.config import load_settings


def run_delivery_tick(log=None):
    """One delivery pass with the settings of the environment; returns the DeliveryReport."""
    settings = load_settings(require_sources=False)
    alerts = alert_settings(data_dir=settings.data_dir)
    report = deliver_pending(settings.warehouse_path, make_transport(alerts), alerts)
    if log is not None and (report.delivered or report.retrying or report.dead):
        log.info(report.summary())
    return report


@dg.sensor(name="deliver_cx_alerts", minimum_interval_seconds=30,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Sends new closed-loop alerts (mart_cx_alerts) once each to CEM_ALERT_WEBHOOK_URL "
                       "(or the outbox file) with an Idempotency-Key; retries with backoff; ledger in "
                       "ops.alert_deliveries.")
def deliver_cx_alerts(context: dg.SensorEvaluationContext):
    report = run_delivery_tick(context.log)
    return dg.SkipReason(report.summary())
