"""The alerts of a real run (the session's shared daily + hourly run) posted to a receiver that verifies every
signature: all arrive verified, and no body carries a value the simulator planted (phones, e-mails, names,
WeChat ids, handles, nicknames, and the phones and e-mails planted inside texts), in any format it served."""

from __future__ import annotations

import json
import shutil

import pytest

from cem_pipeline.alerts import AlertSettings, WebhookTransport, deliver_pending
from tests.support.scan import Needles
from tests.integration.test_alert_signing import SECRET, VerifyingReceiver

pytestmark = pytest.mark.e2e


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)


def test_a_real_runs_alerts_arrive_signed_and_carry_no_planted_pii(shared, tmp_path):
    warehouse = tmp_path / "cem.duckdb"  # delivery records itself in the warehouse: a private copy
    shutil.copy(shared.hourly.warehouse, warehouse)
    settings = AlertSettings(webhook_url=None, outbox_path=None, batch_size=10 ** 6, tick_retry_sleep_s=0)
    with VerifyingReceiver() as rx:
        report = deliver_pending(warehouse, WebhookTransport(rx.url, secret=SECRET, connections=8), settings)
    assert len(report.delivered) > 0 and not report.retrying and not report.dead
    assert len(rx.accepted) == len(report.delivered) and not rx.refused

    planted = shared.sim.world.planted_pii()
    needles = Needles(zip(planted.kind, planted.value))
    assert needles.find(" ".join(str(v) for v in planted.value[:50]))  # the scanner does find planted values
    hits = []
    for body, _ in rx.accepted:
        hits += needles.find(body.decode("utf-8"))  # 3+ character values anywhere in the body
        # shorter ones (2-character names such as 王伟) as the whole value of any field
        hits += [(needles.short[s], s) for s in _strings(json.loads(body)) if s in needles.short]
    assert hits == [], f"planted PII in {len(hits)} places of the alert payloads, e.g. {hits[:5]}"
