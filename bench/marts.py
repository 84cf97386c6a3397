"""Benchmark: wall time to build every metric mart (full refresh), one hourly increment, and the
alert delivery that follows, at a given number of customers.

What is timed (say it exactly): the input ``intermediate.int_feedback__unioned`` is SYNTHESIZED in DuckDB at the
simulator's volumes per customer (0.8 survey responses - 50% NPS, 30% CSAT, 20% CES over 10
touchpoints -, 0.5 reviews, 0.45 social posts, 0.12 calls, over 44 days; 40% of records carry a
customer_key), instead of going through HTTP, the gates and staging. Then:
  1. full:   ``dbt build --full-refresh --select <seeds> int_feedback__journey+`` (all marts, their
             tests and unit tests);
  2. hourly: one hour of new records (+ 0.2% corrected scores on earlier days) is appended to
             int_feedback__unioned and ``dbt build --select int_feedback__journey+`` runs incrementally;
  3. alerts: the new alerts are delivered over HTTP to a local receiver (cem_pipeline.alerts).
Usage: .venv/bin/python -m bench.marts --customers 200000 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
DBT = str(Path(sys.executable).with_name("dbt"))
SELECT = ["journey_touchpoints", "journey_stages", "topic_touchpoints", "alert_sla", "stg_ml__sentiment_scores",
          "int_feedback__journey+"]
# The synthesized input, and the 360 (downstream of the alerts, but it needs the identity and CRM models).
EXCLUDE = ["int_feedback__unioned", "dim_customer_360"]
FEEDBACK = "intermediate.int_feedback__unioned"
TOUCHPOINTS = ["store_visit", "store_checkout", "app_browse", "app_checkout", "web_checkout", "mini_program_order",
               "delivery", "returns", "call_center", "membership"]
CHANNELS = ["store", "store", "app", "app", "web", "mini_program", "web", "web", "call_center", "app"]


def feedback_sql(customers: int, start_h: int, hours: int, offset: int) -> str:
    """Synthetic int_feedback__unioned rows for `hours` hours starting `start_h` hours after 2026-09-01."""
    n = int(customers * 1.87 * hours / (44 * 24))
    tp = "list_value(" + ",".join(f"'{t}'" for t in TOUCHPOINTS) + ")"
    ch = "list_value(" + ",".join(f"'{c}'" for c in CHANNELS) + ")"
    stores = max(20, customers // 500)
    return f"""
    with g as (select i + {offset} as i, random() as u, random() as v, random() as w, floor(random() * 10)::int + 1 as k
               from range({n}) t(i)),
    x as (select *, case when u < 0.428 then 'surveys' when u < 0.695 then 'reviews'
                         when u < 0.936 then 'social' else 'calls' end as source from g)
    select source || ':' || i as feedback_id, source, cast(i as varchar) as record_id,
        case source when 'surveys' then {ch}[k] when 'reviews' then 'review' when 'social' then 'social'
             else 'call_center' end as channel,
        case when source = 'surveys' and {ch}[k] = 'store' then 'S' || lpad(cast((w * {stores})::int + 1 as varchar), 4, '0')
             when source = 'reviews' then 'ONL-TMALL' end as store_id,
        case source when 'surveys' then {tp}[k] when 'reviews' then 'product_review'
             when 'social' then 'social_mention' else 'call_center' end as touchpoint,
        timestamp '2026-09-01' + to_seconds(cast({start_h} * 3600 + w * {hours} * 3600 as bigint)) as occurred_at,
        case when source = 'surveys' then case when v < 0.5 then 'nps' when v < 0.8 then 'csat' else 'ces' end end as survey_type,
        case when source = 'surveys' then case when v < 0.5 then (w * 11)::int % 11 when v < 0.8 then (w * 5)::int % 5 + 1
             else (w * 7)::int % 7 + 1 end end as score,
        case when source = 'reviews' then (w * 5)::int % 5 + 1 end as rating,
        'text [PHONE]' as feedback_text, 'zh' as lang,
        cast(occurred_at as date) as feedback_day,
        case when u * 7 % 1 < 0.4 then (i * 7919) % {customers} end as customer_key,
        (case when u * 7 % 1 < 0.4 then (i * 7919) % {customers} end) is null as is_anonymous
    from x"""


def dbt(args: list[str], env: dict) -> float:
    t = time.perf_counter()
    done = subprocess.run([DBT, *args, "--project-dir", str(ROOT / "dbt_project"), "--profiles-dir",
                           str(ROOT / "dbt_project"), "--target-path", env["BENCH_TARGET"]],
                          env=env, capture_output=True, text=True, cwd=ROOT / "dbt_project")
    if done.returncode != 0:
        raise RuntimeError(done.stdout[-4000:] + done.stderr[-2000:])
    return time.perf_counter() - t


class Sink:
    def __init__(self):
        self.count = 0
        sink = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                sink.count += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def run(customers: int, workdir: Path, backlog: bool = False) -> dict:
    from cem_pipeline.alerts import AlertSettings, WebhookTransport, deliver_pending

    wh = workdir / f"bench_{customers}.duckdb"
    wh.unlink(missing_ok=True)
    hours = 30 * 24
    with duckdb.connect(str(wh)) as con:
        con.execute("create schema marts; create schema staging; create schema intermediate")
        t = time.perf_counter()
        con.execute(f"create table {FEEDBACK} as {feedback_sql(customers, 0, hours, 0)}")
        rows = con.execute(f"select count(*) from {FEEDBACK}").fetchone()[0]
        gen_s = time.perf_counter() - t
        con.execute("create table staging.stg_crm__members (member_token varchar, customer_id varchar, wechat_token varchar,"
                    " home_store_id varchar, member_id_masked varchar, tier varchar, points bigint, joined_at timestamp,"
                    " updated_at timestamp, _load_id varchar, _ingested_at timestamp)")
        con.execute(f"create table staging.stg_crm__stores as select 'S' || lpad(cast(i as varchar), 4, '0') as store_id,"
                    f" 'store ' || i as store_name, 'city' as city, 'region' as region, 'mall' as store_format"
                    f" from range(1, {max(20, customers // 500) + 2}) t(i)")
    env = dict(os.environ, CEM_WAREHOUSE_PATH=str(wh), BENCH_TARGET=str(workdir / "target"))
    select = ["--select", *SELECT, "--exclude", *EXCLUDE, "--quiet"]
    full_s = dbt(["build", "--full-refresh", *select], env)
    with duckdb.connect(str(wh)) as con:
        alerts_before = con.execute("select count(*) from marts.mart_cx_alerts").fetchone()[0]
    # deliver the backlog once (not timed as the increment), so the increment measures new alerts only
    sink = Sink()
    settings = AlertSettings(webhook_url=sink.url, outbox_path=workdir / "o.jsonl", batch_size=10**9)
    t = time.perf_counter()
    if backlog:
        deliver_pending(wh, WebhookTransport(sink.url), settings)
    else:  # steady state: the backlog went out earlier; mark it delivered in the ledger
        from cem_pipeline.alerts.delivery import _ensure_ledger
        with duckdb.connect(str(wh)) as con:
            _ensure_ledger(con)
            con.execute("insert into ops.alert_deliveries select alert_id, 'delivered', 1, now(), now(), null, now(),"
                        " null, 'bench', 204 from marts.mart_cx_alerts")
    backlog_s = time.perf_counter() - t
    # one hour of new records, plus corrected scores on older days
    t0 = time.perf_counter()
    with duckdb.connect(str(wh)) as con:
        con.execute(f"insert into {FEEDBACK} {feedback_sql(customers, hours, 1, 10**9)}")
        con.execute(f"update {FEEDBACK} set score = least(score + 1, 10) where source = 'surveys' "
                    "and random() < 0.002")
        new_rows = con.execute(f"select count(*) from {FEEDBACK} where cast(record_id as bigint) >= 1e9").fetchone()[0]
    land_s = time.perf_counter() - t0
    inc_s = dbt(["build", *select], env)
    t = time.perf_counter()
    sent_before = sink.count
    deliver_pending(wh, WebhookTransport(sink.url), settings)
    deliver_s = time.perf_counter() - t
    with duckdb.connect(str(wh)) as con:
        alerts_after = con.execute("select count(*) from marts.mart_cx_alerts").fetchone()[0]
    return {"customers": customers, "fct_feedback_rows": rows, "synth_s": round(gen_s, 2), "full_build_s": round(full_s, 1),
            "alerts": alerts_before, "backlog_sent_over_http": backlog, "backlog_delivery_s": round(backlog_s, 1), "hour_new_rows": new_rows,
            "hourly_land_s": round(land_s, 2), "hourly_build_s": round(inc_s, 1),
            "new_alerts_sent": sink.count - sent_before, "hourly_delivery_s": round(deliver_s, 2),
            "hourly_total_s": round(land_s + inc_s + deliver_s, 1), "alerts_after": alerts_after}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--deliver-backlog", action="store_true",
                        help="also send every alert of the full build over HTTP (timed as backlog_delivery_s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        for c in args.customers:
            print(json.dumps(run(c, Path(d), args.deliver_backlog)), flush=True)


if __name__ == "__main__":
    main()
