"""Alert backlog delivery: alerts/s to a webhook with a given latency, by sender concurrency.

    .venv/bin/python -m bench.alerts [--alerts 2000] [--latency-ms 20] [--concurrency 1 4 8 16]

A backlog (a first deployment, or a receiver back from an outage) is every alert of
``marts.mart_cx_alerts`` at once. This bench fills that table with ``--alerts`` rows, starts a local
threaded HTTP receiver that answers each POST after ``--latency-ms`` (what a real webhook's round trip
costs; loopback alone is ~1 ms), and times ``deliver_pending`` for each concurrency, emptying the ledger
between runs. It checks every alert arrived exactly once.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb

ALERTS_SQL = """
CREATE SCHEMA IF NOT EXISTS marts;
CREATE OR REPLACE TABLE marts.mart_cx_alerts AS SELECT
    'a' || lpad(i::VARCHAR, 7, '0') AS alert_id, i::BIGINT AS customer_key, DATE '2026-10-01' AS alert_day,
    'gold' AS member_tier, 'critical' AS severity, 'P1' AS priority, 8 AS sla_hours,
    TIMESTAMP '2026-10-01 09:00:00' + i * INTERVAL 1 SECOND AS opened_at, TIMESTAMP '2026-10-01 17:00:00' AS due_at,
    1::BIGINT AS trigger_count, ['nps_detractor'] AS trigger_kinds, ['surveys:SR' || i] AS feedback_ids,
    'surveys:SR' || i AS worst_feedback_id, 'surveys' AS worst_source, 'app' AS channel, '(none)' AS store_id,
    'app_checkout' AS touchpoint, 'purchase' AS journey_stage, 2::BIGINT AS worst_nps_score,
    NULL::BIGINT AS worst_csat_score, NULL::BIGINT AS worst_rating, -0.8::DOUBLE AS min_sentiment_score,
    '物流太慢，客服也不回复，电话[PHONE]' AS feedback_excerpt
FROM range({n}) t(i);
"""


class Receiver:
    def __init__(self, latency_s: float):
        self.keys: Counter = Counter()
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real webhook endpoints do

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(latency_s)
                with lock:
                    receiver.keys[self.headers.get("Idempotency-Key")] += 1
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/cx"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def main(argv=None) -> int:
    from cem_pipeline.alerts import AlertSettings, WebhookTransport, deliver_pending

    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=2000)
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8, 16])
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = Path(tmp) / "alerts.duckdb"
        with duckdb.connect(str(warehouse)) as con:
            con.execute(ALERTS_SQL.format(n=args.alerts))
        print(f"# alert backlog: {args.alerts} alerts, receiver latency {args.latency_ms:.0f} ms per POST")
        print(f"{'concurrency':>12}{'seconds':>10}{'alerts/s':>10}  check")
        for c in args.concurrency:
            with duckdb.connect(str(warehouse)) as con:
                con.execute("DROP TABLE IF EXISTS ops.alert_deliveries")
            rx = Receiver(args.latency_ms / 1000)
            settings = AlertSettings(webhook_url=rx.url, outbox_path=Path(tmp) / "o.jsonl", batch_size=10**9,
                                     concurrency=c)
            t = time.perf_counter()
            report = deliver_pending(warehouse, WebhookTransport(rx.url, connections=c), settings)
            s = time.perf_counter() - t
            once = len(rx.keys) == args.alerts and set(rx.keys.values()) == {1}
            print(f"{c:>12}{s:>10.1f}{args.alerts / s:>10.0f}  {len(report.delivered)} delivered, "
                  f"{'each exactly once' if once else 'MISMATCH'}", flush=True)
            rx.server.shutdown()
            rx.server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
