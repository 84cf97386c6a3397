"""Deliver closed-loop alerts once each.

Contract
--------
- Sources: ``marts.mart_cx_alerts`` (one alert per identified customer per day; ``alert_id`` is a
  hash of customer key and day, so rebuilding the mart never creates a second alert) and
  ``analytics.mart_metric_alerts`` (significant metric drops: one per metric x segment x day, ``alert_type``
  ``metric_drop``; cem_pipeline.analytics.drops). Customer alerts carry ``alert_type`` ``customer``.
- Ledger: ``ops.alert_deliveries``, one row per alert_id: status ``delivered`` | ``retrying`` |
  ``dead`` (gave up after ``max_attempts``), attempts, next attempt time, last error, target.
  An alert with a ledger row in ``delivered`` or ``dead`` is never sent again.
- Each send carries ``Idempotency-Key: <alert_id>``: if the process dies after the receiver
  accepted an alert but before the ledger recorded it, the next tick sends it again with the same
  key and the receiver drops the duplicate (at-least-once transport, exactly-once effect).
- A failed send (connection error, timeout, non-2xx) is retried within the tick ``tick_retries``
  times (short sleeps), then left for a later tick after ``backoff_seconds(attempts)``
  (exponential, capped).
- DuckDB takes one writer at a time: connections are opened briefly for reading the pending alerts
  and for writing outcomes in batches (record_every), never held during HTTP calls.
- Up to ``concurrency`` alerts (``CEM_ALERT_CONCURRENCY``, default 8) are in flight at once to a
  webhook, on a shared keep-alive connection pool: a backlog (a first deployment, a receiver back
  from an outage) is bound by the receiver's latency, and one-at-a-time sending took minutes for
  30k alerts. Set 1 for a receiver that wants alerts strictly one by one. The outbox file is
  written in order, one alert at a time.
- Only the whitelisted, masked fields in ``PAYLOAD_FIELDS`` are ever sent.
- Each webhook POST is signed (``X-CEM-Timestamp``, ``X-CEM-Signature: v1=<HMAC-SHA256>`` of the exact
  body bytes sent, secret ``CEM_ALERT_WEBHOOK_SECRET``; :mod:`cem_pipeline.alerts.signing`), each attempt
  anew, so a retry carries a fresh timestamp. Production refuses a webhook without a secret (config.py).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import duckdb

from cem_pipeline import schema
from cem_pipeline.alerts.signing import sign
from cem_pipeline.config import AlertSettings, alert_settings  # noqa: F401  (re-exported by cem_pipeline.alerts)
from cem_pipeline.schema import ALERTS_TABLE, DELIVERIES_TABLE, DELIVERY_COLUMNS, OPS

PAYLOAD_FIELDS = (
    "alert_id", "alert_type", "customer_key", "alert_day", "member_tier", "severity", "priority", "sla_hours",
    "opened_at", "due_at", "trigger_count", "trigger_kinds", "feedback_ids", "worst_feedback_id",
    "worst_source", "channel", "store_id", "touchpoint", "journey_stage", "worst_nps_score",
    "worst_csat_score", "worst_rating", "min_sentiment_score", "feedback_excerpt",
)
METRIC_PAYLOAD_FIELDS = tuple(schema.column_names(schema.METRIC_ALERTS_COLUMNS))  # segments only, no person



class DeliveryError(RuntimeError):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """Wait before the next tick's attempt after ``attempts`` failed ones: base * 2^(attempts-1), capped."""
    return float(min(cap, base * (2 ** max(0, attempts - 1))))


class Transport(Protocol):
    target: str

    def send(self, payload: dict, idempotency_key: str) -> int: ...


class WebhookTransport:
    """POST the alert as JSON, signed with ``secret`` when one is given; 2xx is success, anything else raises
    DeliveryError."""

    concurrent = True  # safe to call from several threads (requests' connection pool)

    def __init__(self, url: str, timeout_s: float = 5.0, session=None, connections: int = 10,
                 secret: str | bytes | None = None, clock: Callable[[], float] = time.time):
        import requests
        from requests.adapters import HTTPAdapter

        self.url, self.timeout_s = url, timeout_s
        self.secret, self.clock = secret, clock
        self.target = url.split("?", 1)[0]
        if session is None:  # keep-alive connections for every concurrent sender
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(1, connections))
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        self.session = session

    def send(self, payload: dict, idempotency_key: str) -> int:
        import requests

        body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": idempotency_key}
        if self.secret:  # the bytes signed are the bytes posted: requests sends `data` bytes unchanged
            headers.update(sign(body, self.secret, int(self.clock())))
        try:
            response = self.session.post(self.url, data=body, headers=headers, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}", response.status_code)
        return response.status_code


class OutboxTransport:
    """The embedded default: append each alert as one JSON line (with its idempotency key)."""

    concurrent = False  # a local file gains nothing from threads, and keeps the alerts' order

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.target = f"file:{self.path}"

    def send(self, payload: dict, idempotency_key: str) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"idempotency_key": idempotency_key, "alert": payload}, ensure_ascii=False, default=str)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return 200


def make_transport(settings: AlertSettings) -> Transport:
    if settings.webhook_url:
        return WebhookTransport(settings.webhook_url, settings.timeout_s, connections=settings.concurrency,
                                secret=settings.webhook_secret)
    return OutboxTransport(settings.outbox_path)


def _jsonable(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def payload_of(row: dict) -> dict:
    """The webhook body: the whitelisted fields of one alert (masked fields only for a customer alert; a
    metric alert names a segment, never a person)."""
    fields = METRIC_PAYLOAD_FIELDS if row.get("alert_type") == "metric_drop" else PAYLOAD_FIELDS
    return {k: _jsonable(row.get(k)) for k in fields if k in row}


@dataclass
class DeliveryReport:
    considered: int = 0
    delivered: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)
    skipped_reason: str | None = None

    def summary(self) -> str:
        if self.skipped_reason:
            return self.skipped_reason
        return (f"{self.considered} pending alert(s): {len(self.delivered)} delivered, "
                f"{len(self.retrying)} to retry, {len(self.dead)} given up")


def _connect(path: Path, read_only: bool, attempts: int = 5):
    for k in range(attempts):
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException:
            if k == attempts - 1:
                raise
            time.sleep(0.2 * (k + 1))


def _ensure_ledger(con) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {OPS}")
    con.execute(f"CREATE TABLE IF NOT EXISTS {DELIVERIES_TABLE} ({DELIVERY_COLUMNS})")


def _table_exists(con, schema_name: str, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                            [schema_name, table]).fetchone()[0])


def _pending(warehouse: Path, now: dt.datetime, limit: int) -> list[dict]:
    """Undelivered alerts of both kinds, oldest first: customer alerts (mart_cx_alerts) and metric-drop alerts
    (analytics.mart_metric_alerts). Their alert_ids are hashes of different things, so one ledger holds both."""
    con = _connect(warehouse, read_only=False)
    try:
        _ensure_ledger(con)
        rows: list[dict] = []
        for table in (ALERTS_TABLE, schema.METRIC_ALERTS_TABLE):
            schema_name, name = table.split(".")
            if not _table_exists(con, schema_name, name):
                continue
            cur = con.execute(f"""
                SELECT a.*, coalesce(d.attempts, 0) AS _attempts
                FROM {table} AS a
                LEFT JOIN {DELIVERIES_TABLE} AS d USING (alert_id)
                WHERE d.alert_id IS NULL OR (d.status = 'retrying' AND d.next_attempt_at <= ?)
                ORDER BY a.opened_at, a.alert_id
                LIMIT ?""", [now, limit])
            names = [c[0] for c in cur.description]
            # a customer alert has no alert_type column (mart_cx_alerts); a metric alert's says metric_drop
            rows += [{"alert_type": "customer", **dict(zip(names, r))} for r in cur.fetchall()]
        rows.sort(key=lambda r: (str(r.get("opened_at")), r["alert_id"]))
        return rows[:limit]
    finally:
        con.close()


def _record(warehouse: Path, outcomes: list[tuple]) -> None:
    """Write a batch of outcomes (alert_id, status, attempts, at, next_at, error, target, code) at once."""
    if not outcomes:
        return
    rows = [(a, st, n, at, at, nxt, at if st == "delivered" else None, err, tgt, code)
            for a, st, n, at, nxt, err, tgt, code in outcomes]
    con = _connect(warehouse, read_only=False)
    try:
        con.executemany(f"""
            INSERT INTO {DELIVERIES_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (alert_id) DO UPDATE SET
                status = excluded.status, attempts = excluded.attempts, last_attempt_at = excluded.last_attempt_at,
                next_attempt_at = excluded.next_attempt_at, delivered_at = excluded.delivered_at,
                last_error = excluded.last_error, target = excluded.target,
                response_status = excluded.response_status""", rows)
    finally:
        con.close()


def deliver_pending(warehouse: str | Path, transport: Transport, settings: AlertSettings,
                    now: Callable[[], dt.datetime] | None = None, sleep: Callable[[float], None] = time.sleep
                    ) -> DeliveryReport:
    """Send every alert not yet delivered (and due for a retry), once; record each outcome."""
    warehouse = Path(warehouse)
    clock = now or (lambda: dt.datetime.now())
    report = DeliveryReport()
    if not warehouse.exists():
        report.skipped_reason = f"no warehouse at {warehouse} yet"
        return report
    try:
        pending = _pending(warehouse, clock(), settings.batch_size)
    except duckdb.IOException as exc:
        report.skipped_reason = f"warehouse busy, next tick: {exc}"
        return report
    report.considered = len(pending)

    def attempt(row: dict) -> tuple:
        """Send one alert, retrying within the tick; its ledger outcome."""
        alert_id = row["alert_id"]
        attempts = int(row.pop("_attempts"))
        payload = payload_of(row)
        error, code = None, None
        for k in range(settings.tick_retries + 1):
            attempts += 1
            try:
                code = transport.send(payload, idempotency_key=alert_id)
                error = None
                break
            except DeliveryError as exc:
                error, code = str(exc), exc.status
                if k < settings.tick_retries:
                    sleep(settings.tick_retry_sleep_s * (2 ** k))
        t = clock()
        if error is None:
            return (alert_id, "delivered", attempts, t, None, None, transport.target, code)
        if attempts >= settings.max_attempts:
            return (alert_id, "dead", attempts, t, None, error, transport.target, code)
        wait = backoff_seconds(attempts, settings.backoff_base_s, settings.backoff_max_s)
        return (alert_id, "retrying", attempts, t, t + dt.timedelta(seconds=wait), error, transport.target, code)

    by_status = {"delivered": report.delivered, "dead": report.dead, "retrying": report.retrying}
    workers = settings.concurrency if getattr(transport, "concurrent", False) else 1
    outcomes: list[tuple] = []
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="cem-alert") as pool:
        for outcome in pool.map(attempt, pending):  # in the alerts' order, whenever each finished
            by_status[outcome[1]].append(outcome[0])
            outcomes.append(outcome)
            if len(outcomes) >= settings.record_every:
                _record(warehouse, outcomes)
                outcomes = []
    _record(warehouse, outcomes)
    return report


def delivery_status(warehouse: str | Path):
    """The delivery ledger as a DataFrame (empty when nothing was sent yet)."""
    con = _connect(Path(warehouse), read_only=False)
    try:
        _ensure_ledger(con)
        return con.execute(f"SELECT * FROM {DELIVERIES_TABLE} ORDER BY alert_id").df()
    finally:
        con.close()
