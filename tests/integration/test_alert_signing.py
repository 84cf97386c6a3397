"""Signed alert webhooks against a real local HTTP receiver that checks every request with verify_signature
(as a receiver would) and answers 401 when it fails: signed alerts are accepted, a tampered body and a
replayed old request are refused, each retry is signed anew, and production sends nothing unsigned."""

from __future__ import annotations

import datetime as dt
import json
from http.server import BaseHTTPRequestHandler

import pytest
import requests

from cem_pipeline.alerts import (PAYLOAD_FIELDS, SIGNATURE_HEADER, TIMESTAMP_HEADER, AlertSettings, SignatureError,
                                 WebhookTransport, alert_settings, deliver_pending, make_transport, verify_signature)
from cem_pipeline.config import ConfigError
from tests.integration.test_alerts import FAST, Receiver, make_alerts

SECRET = "whsec-" + "0123456789abcdef" * 3


class VerifyingReceiver(Receiver):
    """Accepts (202) only requests whose signature verifies under its secret and clock; else 401."""

    def __init__(self, secret: str = SECRET, fail_first: int = 0, clock=None):
        super().__init__()
        self.secret, self.fail_first, self.clock = secret, fail_first, clock
        self.accepted: list[tuple[bytes, dict]] = []  # raw body and headers of each accepted request
        self.refused: list[str] = []
        self.requests: list[tuple[bytes, dict]] = []
        receiver = self

        class Verifying(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((body, dict(self.headers.items())))
                try:
                    verify_signature(body, self.headers, receiver.secret,
                                     now=None if receiver.clock is None else receiver.clock())
                    code = 500 if len(receiver.requests) <= receiver.fail_first else 202
                except SignatureError as exc:
                    receiver.refused.append(str(exc))
                    code = 401
                if code == 202:
                    receiver.accepted.append(receiver.requests[-1])
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server.RequestHandlerClass = Verifying


def test_every_alert_arrives_signed_and_the_bytes_signed_are_the_bytes_sent(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    ids = make_alerts(warehouse, 5)
    with VerifyingReceiver() as rx:
        report = deliver_pending(warehouse, WebhookTransport(rx.url, timeout_s=2, secret=SECRET), FAST)
    assert report.delivered == ids and not rx.refused
    assert sorted(h["Idempotency-Key"] for _, h in rx.accepted) == ids
    for body, headers in rx.accepted:
        assert headers[SIGNATURE_HEADER].startswith("v1=") and headers[TIMESTAMP_HEADER].isdigit()
        alert = json.loads(body)  # the verified bytes are the JSON alert itself
        assert set(alert) == set(PAYLOAD_FIELDS) and alert["feedback_excerpt"] == "物流太慢，电话[PHONE]"


def test_a_tampered_body_and_a_replayed_old_request_are_refused(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    make_alerts(warehouse, 1)
    receiver_now = [None]
    with VerifyingReceiver(clock=lambda: receiver_now[0] or dt.datetime.now().timestamp()) as rx:
        assert deliver_pending(warehouse, WebhookTransport(rx.url, secret=SECRET), FAST).delivered
        body, headers = rx.accepted[0]
        sent = {k: v for k, v in headers.items() if k in (TIMESTAMP_HEADER, SIGNATURE_HEADER, "Content-Type")}
        # an attacker who changes one field of a captured alert
        forged = body.replace(b'"critical"', b'"low"')
        assert forged != body
        assert requests.post(rx.url, data=forged, headers=sent, timeout=5).status_code == 401
        assert "does not match" in rx.refused[-1]
        # the captured request as it was, replayed 10 minutes later
        receiver_now[0] = int(headers[TIMESTAMP_HEADER]) + 600
        assert requests.post(rx.url, data=body, headers=sent, timeout=5).status_code == 401
        assert "outside the 300 s window" in rx.refused[-1]
        # and within the window it is still good (the receiver's Idempotency-Key drops the duplicate)
        receiver_now[0] = int(headers[TIMESTAMP_HEADER]) + 60
        assert requests.post(rx.url, data=body, headers=sent, timeout=5).status_code == 202
    assert len(rx.refused) == 2


def test_a_wrong_secret_is_refused_and_the_alert_is_retried_later(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    (only,) = make_alerts(warehouse, 1)
    with VerifyingReceiver(secret="another-secret-another-secret-another") as rx:
        report = deliver_pending(warehouse, WebhookTransport(rx.url, secret=SECRET), FAST, sleep=lambda s: None)
    assert report.retrying == [only] and not rx.accepted and len(rx.refused) == FAST.tick_retries + 1


def test_each_retry_is_signed_anew_with_its_own_timestamp(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    make_alerts(warehouse, 1)
    sent_at: list[int] = []

    def clock():  # the sender's clock: 1000 s later at each attempt; the receiver's agrees with it
        sent_at.append(1_790_000_000 + 1000 * len(sent_at))
        return sent_at[-1]
    with VerifyingReceiver(fail_first=1, clock=lambda: sent_at[-1]) as rx:  # a 500 first, then accepted
        transport = WebhookTransport(rx.url, secret=SECRET, clock=clock)
        assert deliver_pending(warehouse, transport, FAST, sleep=lambda s: None).delivered
    stamps = [int(h[TIMESTAMP_HEADER]) for _, h in rx.requests]
    assert stamps == sent_at == [1_790_000_000, 1_790_001_000] and not rx.refused  # the old stamp would be stale
    assert rx.requests[0][1][SIGNATURE_HEADER] != rx.requests[1][1][SIGNATURE_HEADER]


def test_settings_sign_through_make_transport_and_production_sends_nothing_unsigned(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    ids = make_alerts(warehouse, 2)
    with VerifyingReceiver() as rx:
        env = {"CEM_ENV": "production", "CEM_ALERT_WEBHOOK_URL": rx.url, "CEM_ALERT_TICK_RETRY_SLEEP": "0"}
        with pytest.raises(ConfigError, match="CEM_ALERT_WEBHOOK_SECRET"):
            alert_settings(env, data_dir=tmp_path)
        assert rx.requests == []
        settings = alert_settings({**env, "CEM_ALERT_WEBHOOK_SECRET": SECRET}, data_dir=tmp_path)
        assert deliver_pending(warehouse, make_transport(settings), settings).delivered == ids
    assert len(rx.accepted) == 2 and not rx.refused


def test_an_unsigned_demo_webhook_is_refused_by_a_verifying_receiver(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    make_alerts(warehouse, 1)
    settings = AlertSettings(webhook_url=None, outbox_path=None, tick_retries=0, tick_retry_sleep_s=0)
    with VerifyingReceiver() as rx:
        deliver_pending(warehouse, WebhookTransport(rx.url), settings)  # no secret: the demo default
    assert rx.refused == [f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header"]
