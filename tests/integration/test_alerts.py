"""Closed-loop delivery against a real local HTTP receiver: each alert arrives once, with the masked
payload, despite receiver failures (HTTP 500) and repeated sensor ticks."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest

from cem_pipeline.alerts import (PAYLOAD_FIELDS, AlertSettings, OutboxTransport, WebhookTransport, backoff_seconds,
                                 deliver_pending, delivery_status)


class Receiver:
    """A tiny webhook receiver: fails the first `fail_first` requests per key with 500, records the rest."""

    def __init__(self, fail_first: int = 0):
        self.fail_first = fail_first
        self.attempts: dict[str, int] = {}
        self.received: list[tuple[str, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = self.headers.get("Idempotency-Key")
                receiver.attempts[key] = receiver.attempts.get(key, 0) + 1
                if receiver.attempts[key] <= receiver.fail_first:
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b"boom")
                    return
                receiver.received.append((key, body))
                self.send_response(202)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/cx"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def make_alerts(path, n: int = 3, start: int = 0) -> list[str]:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute("""CREATE TABLE IF NOT EXISTS marts.mart_cx_alerts AS SELECT
            md5('x') AS alert_id, 1::BIGINT AS customer_key, DATE '2026-10-01' AS alert_day, 'gold' AS member_tier,
            'critical' AS severity, 'P1' AS priority, 8 AS sla_hours, TIMESTAMP '2026-10-01 09:00:00' AS opened_at,
            TIMESTAMP '2026-10-01 17:00:00' AS due_at, 1::BIGINT AS trigger_count, ['nps_detractor'] AS trigger_kinds,
            ['surveys:SR1'] AS feedback_ids, 'surveys:SR1' AS worst_feedback_id, 'surveys' AS worst_source,
            'app' AS channel, '(none)' AS store_id, 'app_checkout' AS touchpoint, 'purchase' AS journey_stage,
            2::BIGINT AS worst_nps_score, NULL::BIGINT AS worst_csat_score, NULL::BIGINT AS worst_rating,
            NULL::DOUBLE AS min_sentiment_score, '物流太慢，电话[PHONE]' AS feedback_excerpt,
            'never sent' AS internal_note WHERE false""")
        ids = []
        for k in range(start, start + n):
            alert_id = f"a{k:04d}"
            con.execute("""INSERT INTO marts.mart_cx_alerts SELECT ?, ?, DATE '2026-10-01', 'gold', 'critical', 'P1', 8,
                TIMESTAMP '2026-10-01 09:00:00', TIMESTAMP '2026-10-01 17:00:00', 1, ['nps_detractor'], [?],
                ?, 'surveys', 'app', '(none)', 'app_checkout', 'purchase', 2, NULL, NULL, NULL,
                '物流太慢，电话[PHONE]', 'secret'""", [alert_id, k, f"surveys:SR{k}", f"surveys:SR{k}"])
            ids.append(alert_id)
    return ids


FAST = AlertSettings(webhook_url=None, outbox_path=None, timeout_s=2, max_attempts=6, tick_retries=1,
                     tick_retry_sleep_s=0.0, backoff_base_s=60, backoff_max_s=600)


class Clock:
    def __init__(self):
        self.t = dt.datetime(2026, 10, 1, 10, 0)

    def __call__(self):
        return self.t


def test_each_alert_arrives_once_with_the_masked_payload_despite_500s(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    ids = make_alerts(warehouse, 3)
    clock = Clock()
    with Receiver(fail_first=3) as rx:  # 2 attempts per tick: tick 1 fails, tick 2 fails once then succeeds
        transport = WebhookTransport(rx.url, timeout_s=2)
        first = deliver_pending(warehouse, transport, FAST, now=clock, sleep=lambda s: None)
        assert first.retrying == ids and not first.delivered
        # not due yet: nothing is sent before the backoff passes
        again = deliver_pending(warehouse, transport, FAST, now=clock, sleep=lambda s: None)
        assert again.considered == 0 and sum(rx.attempts.values()) == 6
        clock.t += dt.timedelta(seconds=backoff_seconds(2, 60, 600) + 1)
        second = deliver_pending(warehouse, transport, FAST, now=clock, sleep=lambda s: None)
        assert second.delivered == ids
        # further ticks (a rerun, a second sensor tick) send nothing
        third = deliver_pending(warehouse, transport, FAST, now=clock, sleep=lambda s: None)
        assert third.considered == 0
    keys = [k for k, _ in rx.received]
    assert sorted(keys) == ids and len(keys) == len(set(keys))
    assert all(rx.attempts[k] == 4 for k in ids)
    _, body = rx.received[0]
    assert set(body) == set(PAYLOAD_FIELDS)  # whitelisted fields only: internal_note never leaves
    assert body["alert_id"] == keys[0] and body["feedback_excerpt"] == "物流太慢，电话[PHONE]"
    ledger = delivery_status(warehouse).set_index("alert_id")
    assert (ledger.loc[ids, "status"] == "delivered").all() and (ledger.loc[ids, "attempts"] == 4).all()


def test_new_alerts_after_a_rerun_are_sent_and_old_ones_are_not(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    old = make_alerts(warehouse, 2)
    outbox = tmp_path / "outbox.jsonl"
    transport = OutboxTransport(outbox)
    assert deliver_pending(warehouse, transport, FAST).delivered == old
    new = make_alerts(warehouse, 2, start=2)
    assert deliver_pending(warehouse, transport, FAST).delivered == new
    lines = [json.loads(x) for x in outbox.read_text(encoding="utf-8").splitlines()]
    assert [x["idempotency_key"] for x in lines] == old + new


def test_an_alert_is_given_up_after_max_attempts(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    (only,) = make_alerts(warehouse, 1)
    clock = Clock()
    settings = AlertSettings(webhook_url=None, outbox_path=None, max_attempts=3, tick_retries=0,
                             tick_retry_sleep_s=0, backoff_base_s=1, backoff_max_s=1)
    with Receiver(fail_first=100) as rx:
        transport = WebhookTransport(rx.url)
        for _ in range(5):
            deliver_pending(warehouse, transport, settings, now=clock, sleep=lambda s: None)
            clock.t += dt.timedelta(seconds=2)
    assert rx.attempts[only] == 3 and not rx.received
    assert delivery_status(warehouse).set_index("alert_id").loc[only, "status"] == "dead"


def test_the_sensor_delivers_once_across_two_ticks(tmp_path, monkeypatch):
    import dagster as dg

    from sensors.alerts import deliver_cx_alerts

    warehouse = tmp_path / "data" / "cem.duckdb"
    warehouse.parent.mkdir()
    ids = make_alerts(warehouse, 2)
    with Receiver(fail_first=1) as rx:
        monkeypatch.setenv("CEM_ENV", "test")
        monkeypatch.setenv("CEM_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("CEM_WAREHOUSE_PATH", str(warehouse))
        monkeypatch.setenv("CEM_ALERT_WEBHOOK_URL", rx.url)
        monkeypatch.setenv("CEM_ALERT_TICK_RETRY_SLEEP", "0")
        with dg.instance_for_test() as instance:
            for _ in range(2):
                result = deliver_cx_alerts.evaluate_tick(dg.build_sensor_context(instance=instance))
                assert not result.run_requests
    assert sorted(k for k, _ in rx.received) == ids
    assert all(rx.attempts[k] == 2 for k in ids)  # a 500, then the in-tick retry succeeded


def test_without_a_webhook_the_sensor_writes_the_outbox(tmp_path, monkeypatch):
    import dagster as dg

    from sensors.alerts import deliver_cx_alerts

    warehouse = tmp_path / "data" / "cem.duckdb"
    warehouse.parent.mkdir()
    ids = make_alerts(warehouse, 2)
    monkeypatch.setenv("CEM_ENV", "test")
    monkeypatch.setenv("CEM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CEM_WAREHOUSE_PATH", str(warehouse))
    monkeypatch.delenv("CEM_ALERT_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("CEM_ALERT_OUTBOX", raising=False)
    with dg.instance_for_test() as instance:
        for _ in range(2):
            deliver_cx_alerts.evaluate_tick(dg.build_sensor_context(instance=instance))
    lines = (tmp_path / "data" / "alerts_outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["idempotency_key"] for x in lines] == ids


def test_backoff_grows_and_is_capped():
    assert [backoff_seconds(k, 30, 300) for k in (1, 2, 3, 4, 5, 6)] == [30, 60, 120, 240, 300, 300]


def test_no_warehouse_yet_is_a_skip(tmp_path):
    report = deliver_pending(tmp_path / "missing.duckdb", OutboxTransport(tmp_path / "o.jsonl"), FAST)
    assert report.skipped_reason and not report.delivered


class SlowReceiver(Receiver):
    """A receiver that takes ``delay`` seconds per request and records how many were in flight at once."""

    def __init__(self, delay: float):
        super().__init__()
        self.in_flight, self.max_in_flight = 0, 0
        lock = threading.Lock()
        handler = self.server.RequestHandlerClass
        receiver = self

        class Slow(handler):
            def do_POST(self):
                with lock:
                    receiver.in_flight += 1
                    receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
                try:
                    import time

                    time.sleep(delay)
                    super().do_POST()
                finally:
                    with lock:
                        receiver.in_flight -= 1

        self.server.RequestHandlerClass = Slow


@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_backlog_goes_out_concurrently_each_alert_once(tmp_path, concurrency):
    warehouse = tmp_path / "w.duckdb"
    ids = make_alerts(warehouse, 24)
    settings = AlertSettings(webhook_url=None, outbox_path=None, record_every=5, concurrency=concurrency)
    with SlowReceiver(delay=0.05) as rx:
        report = deliver_pending(warehouse, WebhookTransport(rx.url, connections=concurrency), settings)
    assert report.delivered == ids  # in the alerts' order, whatever order the sends finished in
    assert sorted(k for k, _ in rx.received) == ids and len(rx.received) == len(ids)
    assert (rx.max_in_flight == 1) if concurrency == 1 else (rx.max_in_flight > 1)
    ledger = delivery_status(warehouse).set_index("alert_id")
    assert (ledger.loc[ids, "status"] == "delivered").all() and (ledger.loc[ids, "attempts"] == 1).all()


def test_metric_drop_alerts_reach_the_same_webhook_once_with_their_own_type(tmp_path):
    from cem_pipeline import schema
    from cem_pipeline.alerts.delivery import METRIC_PAYLOAD_FIELDS

    warehouse = tmp_path / "w.duckdb"
    customer = make_alerts(warehouse, 2)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"CREATE SCHEMA {schema.ANALYTICS}")
        con.execute(f"CREATE TABLE {schema.METRIC_ALERTS_TABLE} ({schema.METRIC_ALERTS_COLUMNS})")
        con.execute(f"""INSERT INTO {schema.METRIC_ALERTS_TABLE} (alert_id, alert_type, as_of_day, metric, segment_kind,
            segment_value, window_days, windows_flagged, current_n, baseline_n, current_value, baseline_value, change,
            change_ci_low, change_ci_high, p_value, q_value, drivers_moved, opened_at) VALUES
            ('m1', 'metric_drop', DATE '2026-10-01', 'nps', 'store', 'S0001', 7, '1d,7d', 140, 600, 2.0, 31.5, -29.5,
             -41.0, -18.0, 1e-6, 4e-5, 'delivery_negative +21.0 pp (4.0% -> 25.0%)', TIMESTAMP '2026-10-01 08:00:00')""")
    with Receiver() as rx:
        transport = WebhookTransport(rx.url, timeout_s=2)
        assert sorted(deliver_pending(warehouse, transport, FAST).delivered) == sorted(["m1", *customer])
        assert deliver_pending(warehouse, transport, FAST).considered == 0
    bodies = {k: b for k, b in rx.received}
    assert len(rx.received) == 3
    metric = bodies["m1"]
    assert metric["alert_type"] == "metric_drop" and set(metric) == set(METRIC_PAYLOAD_FIELDS)
    assert metric["change"] == -29.5 and metric["segment_value"] == "S0001"
    assert all(bodies[k]["alert_type"] == "customer" for k in customer)
