"""Closed-loop alert delivery: new rows of ``marts.mart_cx_alerts`` go out once each to a webhook
(or, in the embedded default, to an outbox file), with an ``Idempotency-Key`` header, retries with
exponential backoff across sensor ticks, and a delivery ledger in ``ops.alert_deliveries``. Every webhook
POST is signed (HMAC-SHA256 with a timestamp, ``signing``); receivers check it with :func:`verify_signature`.

Pure Python (no Dagster): ``sensors/alerts.py`` only wires :func:`deliver_pending` to a sensor.
"""

from cem_pipeline.alerts.delivery import (DELIVERIES_TABLE, PAYLOAD_FIELDS, AlertSettings, DeliveryError,
                                          DeliveryReport, OutboxTransport, WebhookTransport, alert_settings,
                                          backoff_seconds, deliver_pending, delivery_status, make_transport,
                                          payload_of)
from cem_pipeline.alerts.signing import (SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, sign,
                                         verify_signature)

__all__ = ["DELIVERIES_TABLE", "PAYLOAD_FIELDS", "AlertSettings", "DeliveryError", "DeliveryReport",
           "OutboxTransport", "WebhookTransport", "alert_settings", "backoff_seconds", "deliver_pending",
           "delivery_status", "make_transport", "payload_of",
           "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "SignatureError", "sign", "verify_signature"]
