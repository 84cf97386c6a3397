"""Erasure on request (PIPL Art. 47, GDPR Art. 17): forget a person everywhere, and keep them forgotten.

``forget(settings, requests, pii)`` takes requests naming a person by member id, phone or e-mail (any format
the normalizers accept) and:

1. **resolves** them through the identity graph of the last dbt run: the records carrying the requested
   identifier, their ``customer_key`` (an identifier on more than one customer, a family phone or a shop's
   e-mail, is refused unless ``allow_shared``), every record of those customers, and the records no customer
   holds that carry one of their identifiers. Their identifiers that other customers also carry are not
   theirs alone: they are neither used to find more records nor suppressed;
2. **plans**, in one transaction: a ledger entry (``ops.erasure_ledger``: suppression tokens, time, counts;
   no readable value, no PII token), the plan of what was resolved (``ops.erasure_plan``, emptied at the
   end) and the suppression entries (``ops.privacy_suppressions``: their identifiers and record ids, see
   :mod:`cem_pipeline.privacy.suppression`), so from this commit on no load brings them back;
3. **removes**, one transaction per step, each recording its row counts in ``ops.privacy_progress``: per
   source entity, every raw row the suppression list matches (raw is rewritten without them) with its
   masked, quarantine and warning rows, the load and gate ledgers adjusted so that reconciliation still
   holds; the ML scores of their records; their anchors in the identity key map (their keys stay as
   tombstones, reason ``erased``, so a key is never given to someone else); their alert deliveries; then
   their alerts in the outbox file (rewritten atomically);
4. **rebuilds** (:mod:`cem_pipeline.privacy.rebuild`): every dbt model with a full refresh, the analysis
   tables, the BI file;
5. **compacts** the warehouse file (:meth:`Warehouse.compact`: DuckDB frees a deleted row's blocks but does
   not wipe them, so the values stayed readable in the file's bytes) and marks the ledger entry done in the
   compacted copy.

A crash leaves every table in its old or its new state (each step is one transaction) and the next
``forget`` finishes the unfinished erasure from its plan before anything else. Forgetting someone already
forgotten finds nothing and changes nothing. ``dry_run`` resolves and counts, and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import orjson
import pyarrow as pa

from cem_pipeline import schema
from cem_pipeline.config import Settings, alert_settings
from cem_pipeline.privacy import rebuild
from cem_pipeline.privacy.kinds import EMAIL, MEMBER, PHONE, normalize
from cem_pipeline.privacy.suppression import (
    RECORD, SUPPRESSED_KINDS, Suppression, ensure_tables, shape, suppression_key,
)
from cem_pipeline.privacy.tokens import Tokenizer
from cem_pipeline.sources.catalog import ENTITIES, Entity
from cem_pipeline.warehouse import Warehouse, first_row, table_exists, transaction

REQUEST_KINDS = {"member_id": MEMBER, "member": MEMBER, "phone": PHONE, "mobile": PHONE, "email": EMAIL}
LABELS = {MEMBER: "a member id", PHONE: "a phone number", EMAIL: "an e-mail address"}
EXAMPLES = {MEMBER: "M00012345", PHONE: "+86 138 0013 8000 or 13800138000", EMAIL: "name@example.com"}
# The identity graph's anchors (macros/identity.sql): their rows in the key map are the subject's keys.
ANCHOR_ENTITIES = ("crm_customers", "crm_members")
# Published tables with one row per customer or per customer's feedback: counted before the rebuild.
CUSTOMER_TABLES = (f"{schema.MARTS}.fct_feedback", f"{schema.MARTS}.dim_customer_360", schema.ALERTS_TABLE)
TOMBSTONE = "erased"  # key map rows that keep an erased customer's key from being given out again
READ_ROWS = 20_000
STEP_ML, STEP_KEY_MAP, STEP_ALERTS = "ml", schema.IDENTITY_KEY_MAP, schema.DELIVERIES_TABLE
STEP_OUTBOX, STEP_DBT, STEP_ANALYTICS, STEP_PUBLISH = "alerts_outbox", "dbt", "analytics", "bi_file"
STEP_COMPACT = "compact"


class ErasureError(ValueError):
    """A request or the warehouse state does not allow the erasure; the message says what to do."""


@dataclass(frozen=True)
class Request:
    kind: str  # member_id | phone | email
    value: str = field(repr=False)
    where: str = ""  # "--phone", "requests.txt line 3": how to point at the request without repeating it


def make_request(kind: str, value, where: str) -> Request:
    name = REQUEST_KINDS.get(str(kind).strip().lower().replace("-", "_"))
    if name is None:
        raise ErasureError(f"{where}: unknown identifier kind {str(kind)[:20]!r}; use member_id, phone or email.")
    text = "" if value is None else str(value).strip()
    if not text or normalize(name, text) is None:
        raise ErasureError(f"{where}: the value is not {LABELS[name]} the normalizers accept "
                           f"(e.g. {EXAMPLES[name]}); fix it and run again.")
    return Request(name, text, where)


def read_requests(path: str | Path) -> list[Request]:
    """A batch file: one request per line, ``kind,value`` (``phone,138 0013 8000``) or a JSON object with one
    key (``{"email": "a@b.com"}``); blank lines and lines starting with ``#`` are skipped."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ErasureError(f"cannot read the request file {path}: {exc.strerror or exc}") from None
    out = []
    for n, line in enumerate(lines, 1):
        line, where = line.strip(), f"{path.name} line {n}"
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                raise ErasureError(f"{where}: not valid JSON; write {{\"phone\": \"...\"}} or phone,...") from None
            if not isinstance(obj, dict) or len(obj) != 1:
                raise ErasureError(f"{where}: a JSON request names exactly one of member_id, phone, email.")
            (kind, value), = obj.items()
        else:
            kind, sep, value = line.partition(",")
            if not sep:
                raise ErasureError(f"{where}: write kind,value (member_id, phone or email, a comma, the value).")
        out.append(make_request(kind, value, where))
    if not out:
        raise ErasureError(f"{path} holds no request; one per line: kind,value.")
    return out


@dataclass
class ErasureReport:
    erasure_id: str | None
    dry_run: bool
    requests: int
    customers: int = 0
    records: int = 0
    suppressed: int = 0  # suppression entries added (would be)
    counts: dict[str, int] = field(default_factory=dict)  # table -> rows removed (would be)
    rebuilt: bool = False
    delivered_alerts: int = 0
    resumed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def render(self) -> str:
        head = ("Dry run: nothing was changed. Would remove" if self.dry_run else f"Erasure {self.erasure_id}: removed")
        lines = [f"{head} {self.customers} customer(s), {self.records} staged record(s) "
                 f"({self.requests} request(s)); {self.suppressed} identifier(s) and record id(s) "
                 f"{'would be' if self.dry_run else 'are now'} suppressed in later loads."]
        lines += [f"  finished an erasure a crash had interrupted: {e}" for e in self.resumed]
        width = max((len(t) for t in self.counts), default=10)
        lines.append(f"  {'table':<{width}}  rows")
        lines += [f"  {t:<{width}}  {n:>6,}" for t, n in sorted(self.counts.items())]
        if self.dry_run:
            lines.append("  then every dbt model, the analysis tables and the BI file would be rebuilt without them.")
        elif self.rebuilt:
            lines.append("  rebuilt: every dbt model (full refresh), the analysis tables, the BI file.")
        else:
            lines.append("  nothing of them was left, so nothing was rebuilt.")
        if self.delivered_alerts:
            lines.append(f"  {self.delivered_alerts} of their alerts had been posted to the webhook: their ids are in "
                         f"{schema.ERASURE_LEDGER}.delivered_alert_ids; ask the receiver to delete them.")
        lines.append(f"  ({self.seconds:.1f} s)")
        return "\n".join(lines)


@dataclass
class _Subject:
    request_tokens: list[str]  # PII tokens of the requests
    keys: set[int] = field(default_factory=set)
    records: dict[str, set[str]] = field(default_factory=dict)  # entity -> staged record ids
    tokens: set[str] = field(default_factory=set)  # their PII tokens, less those other customers share
    alerts: set[str] = field(default_factory=set)

    @property
    def n_records(self) -> int:
        return sum(len(v) for v in self.records.values())


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _rows(con, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or {}).fetchall()


def _resolve(con, requests: list[Request], pii: Tokenizer, allow_shared: bool) -> _Subject:
    subject = _Subject([pii.token(r.kind, r.value) for r in requests])
    evidence, keys = schema.IDENTITY_EVIDENCE, schema.IDENTITY_RECORD_KEYS
    if not (table_exists(con, evidence) and table_exists(con, keys)):
        return subject  # no dbt run yet: the suppression list and the raw sweep find what there is
    per_token = dict(_rows(con, f"""
        SELECT e.token, list(DISTINCT k.customer_key) FROM {evidence} e
        JOIN {keys} k ON k.entity = e.entity AND k.record_id = e.record_id
        WHERE k.customer_key IS NOT NULL AND e.token IN (SELECT unnest($t::VARCHAR[])) GROUP BY 1""",
        {"t": subject.request_tokens}))
    for request, token in zip(requests, subject.request_tokens):
        found = per_token.get(token) or []
        if len(found) > 1 and not allow_shared:
            raise ErasureError(f"{request.where}: {LABELS[request.kind]} on {len(found)} customers "
                               "(a family phone, a shop's e-mail); name the person by member id or another "
                               "identifier, or pass --allow-shared to forget all of them.")
        subject.keys.update(int(k) for k in found)
    params = {"k": sorted(subject.keys), "t": subject.request_tokens, "kinds": list(SUPPRESSED_KINDS)}
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _subject AS
        SELECT entity, record_id FROM {keys} WHERE customer_key IN (SELECT unnest($k::BIGINT[]))
        UNION SELECT entity, record_id FROM {evidence} WHERE token IN (SELECT unnest($t::VARCHAR[]))""",
                {"k": params["k"], "t": params["t"]})
    # Their identifiers (of the kinds that identify one person), less those records of other customers carry.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _subject_tokens AS
        SELECT DISTINCT e.token FROM {evidence} e JOIN _subject s USING (entity, record_id)
        WHERE split_part(e.token, ':', 1) IN (SELECT unnest($kinds::VARCHAR[]))
        EXCEPT SELECT e.token FROM {evidence} e JOIN {keys} k USING (entity, record_id)
        WHERE k.customer_key IS NOT NULL AND k.customer_key NOT IN (SELECT unnest($k::BIGINT[]))""",
                {"k": params["k"], "kinds": params["kinds"]})
    con.execute(f"""INSERT INTO _subject
        SELECT e.entity, e.record_id FROM {evidence} e JOIN {keys} k USING (entity, record_id)
        WHERE k.customer_key IS NULL AND e.token IN (SELECT token FROM _subject_tokens)
        EXCEPT SELECT entity, record_id FROM _subject""")
    subject.tokens = {r[0] for r in _rows(con, "SELECT token FROM _subject_tokens")}
    for entity, record_id in _rows(con, "SELECT DISTINCT entity, record_id FROM _subject"):
        subject.records.setdefault(entity, set()).add(record_id)
    if table_exists(con, schema.ALERTS_TABLE) and subject.keys:
        subject.alerts = {r[0] for r in _rows(con, f"SELECT alert_id FROM {schema.ALERTS_TABLE} "
                                                   "WHERE customer_key IN (SELECT unnest($k::BIGINT[]))",
                                                   {"k": params["k"]})}
    return subject


def _suppression_entries(con, subject: _Subject, requests: list[Request], pii: Tokenizer,
                         supp: Suppression) -> dict[str, str]:
    """token -> kind: the requested identifiers, and from the raw records of the subject's staged records their
    record ids and the identifiers that are theirs alone."""
    entries = {supp.identifier_token(r.kind, r.value): r.kind for r in requests}
    theirs = subject.tokens | set(subject.request_tokens)
    for ent in ENTITIES:
        ids = subject.records.get(ent.name)
        raw, masked = schema.raw_table(ent.name), schema.masked_table(ent.name)
        if not ids or not (table_exists(con, raw) and table_exists(con, masked)):
            continue
        identifiers = shape(ent.name).identifiers
        for rid, body in _rows(con, f"""
                SELECT r.record_id, r._record::VARCHAR FROM {masked} m
                JOIN {raw} r ON r._load_id = m._load_id AND r._record_hash = m._record_hash
                WHERE m.record_id IN (SELECT unnest($ids::VARCHAR[]))""", {"ids": sorted(ids)}):
            record = orjson.loads(body)
            entries[supp.record_token(ent.name, rid)] = RECORD
            for name, kind in identifiers:
                value = record.get(name)
                if value is not None and not isinstance(value, (list, dict)) and pii.token(kind, value) in theirs:
                    entries[supp.identifier_token(kind, value)] = kind
    entries.pop(None, None)
    return entries


def _matched_raw(con, ent: Entity, supp: Suppression, staged_ids: set[str]) -> pa.Table:
    """(load_id, record_hash) of every raw row of ``ent`` to erase: the suppression list matches it, or it is a
    version of one of the subject's staged records."""
    raw, masked = schema.raw_table(ent.name), schema.masked_table(ent.name)
    loads, hashes = [], []
    if table_exists(con, raw) and supp:
        reader = con.cursor()
        try:
            stream = reader.sql(f"SELECT _load_id, _record_hash, _record::VARCHAR AS _record FROM {raw}"
                                ).to_arrow_reader(READ_ROWS)
            for batch in stream:
                cols = batch.to_pydict()
                for load, digest, body in zip(cols["_load_id"], cols["_record_hash"], cols["_record"]):
                    if supp.matches(ent.name, orjson.loads(body)):
                        loads.append(load)
                        hashes.append(digest)
        finally:
            reader.close()
    if staged_ids and table_exists(con, masked):
        for load, digest in _rows(con, f"SELECT _load_id, _record_hash FROM {masked} "
                                       "WHERE record_id IN (SELECT unnest($ids::VARCHAR[]))",
                                  {"ids": sorted(staged_ids)}):
            loads.append(load)
            hashes.append(digest)
    return pa.table({"load_id": pa.array(loads, pa.string()), "record_hash": pa.array(hashes, pa.string())})


def _gone_counts(con, ent: Entity) -> dict[str, list[tuple]]:
    """Per table, (load_id, rows) of what ``_gone`` (the matched raw rows) takes with it; the masked record ids."""
    raw, masked = schema.raw_table(ent.name), schema.masked_table(ent.name)
    out = {"raw": [], "masked": [], "quarantine": [], "warnings": [], "masked_ids": []}
    if table_exists(con, raw):
        out["raw"] = _rows(con, f"SELECT t._load_id, count(*) FROM {raw} t JOIN _gone g "
                                "ON t._load_id = g.load_id AND t._record_hash = g.record_hash GROUP BY 1")
    if table_exists(con, masked):
        out["masked"] = _rows(con, f"SELECT t._load_id, count(*) FROM {masked} t JOIN _gone g "
                                   "ON t._load_id = g.load_id AND t._record_hash = g.record_hash GROUP BY 1")
        out["masked_ids"] = [r[0] for r in _rows(
            con, f"SELECT DISTINCT t.record_id FROM {masked} t JOIN _gone g ON t._load_id = g.load_id "
                 "AND t._record_hash = g.record_hash WHERE t.record_id IS NOT NULL")]
    for key, table, distinct in (("quarantine", schema.QUARANTINE_TABLE, "DISTINCT t._record_hash"),
                                 ("warnings", schema.WARNINGS_TABLE, "*")):
        if table_exists(con, table):
            out[key] = _rows(con, f"SELECT t._load_id, count({distinct}) FROM {table} t JOIN _gone g "
                                  "ON t._load_id = g.load_id AND t._record_hash = g.record_hash "
                                  "WHERE t.entity = $e GROUP BY 1", {"e": ent.name})
    return out


def _prepare_gone(con, matched: pa.Table) -> None:
    con.register("_matched", matched)
    con.execute("CREATE OR REPLACE TEMP TABLE _gone AS SELECT DISTINCT load_id, record_hash FROM _matched")
    con.unregister("_matched")


def _erase_entity(con, ent: Entity, supp: Suppression, staged_ids: set[str], erasure_id: str) -> None:
    """One transaction: the entity's matched raw rows and what the gates made of them, the ledgers adjusted."""
    _prepare_gone(con, _matched_raw(con, ent, supp, staged_ids))
    raw, masked = schema.raw_table(ent.name), schema.masked_table(ent.name)
    try:
        with transaction(con):
            gone = _gone_counts(con, ent)
            using = "USING _gone g WHERE t._load_id = g.load_id AND t._record_hash = g.record_hash"
            for key, table, extra in (("raw", raw, ""), ("masked", masked, ""),
                                      ("quarantine", schema.QUARANTINE_TABLE, " AND t.entity = $e"),
                                      ("warnings", schema.WARNINGS_TABLE, " AND t.entity = $e")):
                if table_exists(con, table):
                    con.execute(f"DELETE FROM {table} t {using}{extra}", {"e": ent.name} if extra else {})
            for load, n in gone["raw"]:
                con.execute(f"UPDATE {schema.LOAD_LEDGER} SET rows_written = rows_written - ?, "
                            "suppressed = coalesce(suppressed, 0) + ? WHERE load_id = ?", [n, n, load])
            passed, quarantined = dict(gone["masked"]), dict(gone["quarantine"])
            if table_exists(con, schema.GATE_LEDGER):
                for load in set(passed) | set(quarantined):
                    p, q = passed.get(load, 0), quarantined.get(load, 0)
                    con.execute(f"UPDATE {schema.GATE_LEDGER} SET rows_in = rows_in - ?, passed = passed - ?, "
                                "quarantined = quarantined - ? WHERE entity = ? AND load_id = ?",
                                [p + q, p, q, ent.name, load])
            swept = sorted(set(gone["masked_ids"]) - staged_ids)  # found by the sweep only: the ML step needs them too
            if swept:
                con.executemany(f"INSERT INTO {schema.ERASURE_PLAN} VALUES (?, 'record', ?, ?)",
                                [[erasure_id, ent.name, rid] for rid in swept])
            mark_steps(con, erasure_id, {
                raw: sum(n for _, n in gone["raw"]), masked: sum(n for _, n in gone["masked"]),
                f"{schema.QUARANTINE_TABLE}/{ent.name}": sum(n for _, n in gone["quarantine"]),
                f"{schema.WARNINGS_TABLE}/{ent.name}": sum(n for _, n in gone["warnings"])})
    finally:
        con.execute("DROP TABLE IF EXISTS _gone")


def _ml_targets(records: dict[str, set[str]]) -> dict[str, tuple[str, list]]:
    """ML table -> (where clause, params) selecting the scores of ``records``: tables keyed by (source, record_id),
    source being the entity's system (as in int_feedback__texts), and ml.call_sentiment keyed by the call id."""
    by_id_field = {e.id_field: e for e in ENTITIES}
    out = {}
    for table, columns in schema.ML_TABLES.items():
        names = [c for c, _ in columns]
        if "source" in names:
            pairs = [[e.system, rid] for e in ENTITIES for rid in sorted(records.get(e.name, ()))]
            out[table] = ("(source, record_id) IN (SELECT (s[1], s[2]) FROM (SELECT unnest($p::VARCHAR[][]) s))",
                          pairs)
        elif names[0] in by_id_field:
            out[table] = (f"{names[0]} IN (SELECT unnest($p::VARCHAR[]))",
                          sorted(records.get(by_id_field[names[0]].name, ())))
    return out


def _count_ml(con, records) -> dict[str, int]:
    return {t: first_row(con, f"SELECT count(*) FROM {t} WHERE {where}", {"p": p})[0]
            for t, (where, p) in _ml_targets(records).items() if p and table_exists(con, t)}


def _erase_ml(con, records: dict[str, set[str]], erasure_id: str) -> None:
    with transaction(con):
        counts = _count_ml(con, records)
        for table, (where, params) in _ml_targets(records).items():
            if table in counts:
                con.execute(f"DELETE FROM {table} WHERE {where}", {"p": params})
        mark_steps(con, erasure_id, {STEP_ML: None, **counts})


def _anchor_rows(records: dict[str, set[str]]) -> list[list[str]]:
    return [[e, rid] for e in ANCHOR_ENTITIES for rid in sorted(records.get(e, ()))]


def _key_map_rows(con, records) -> int:
    if not table_exists(con, schema.IDENTITY_KEY_MAP):
        return 0
    return first_row(con, f"SELECT count(*) FROM {schema.IDENTITY_KEY_MAP} WHERE (anchor_entity, anchor_id) IN "
                          "(SELECT (a[1], a[2]) FROM (SELECT unnest($a::VARCHAR[][]) a))",
                     {"a": _anchor_rows(records)})[0]


def _erase_key_map(con, records, keys: set[int], erasure_id: str) -> None:
    """Their anchors' rows out of the key map; every key they held stays as a tombstone (reason ``erased``), so
    the next new customer never gets it (it is max key + 1) and old exports never point at someone else."""
    table = schema.IDENTITY_KEY_MAP
    with transaction(con):
        n = 0
        if table_exists(con, table):
            anchors = {"a": _anchor_rows(records)}
            where = "(anchor_entity, anchor_id) IN (SELECT (a[1], a[2]) FROM (SELECT unnest($a::VARCHAR[][]) a))"
            held = {int(k) for r in _rows(con, f"SELECT customer_key, previous_key FROM {table} WHERE {where}", anchors)
                    for k in r if k is not None} | keys
            n = _key_map_rows(con, records)
            con.execute(f"DELETE FROM {table} WHERE {where}", anchors)
            kept = {int(r[0]) for r in _rows(con, f"SELECT DISTINCT customer_key FROM {table}")}
            run_seq = first_row(con, f"SELECT coalesce(max(run_seq), 0) FROM {table}")[0]
            for key in sorted(held - kept):
                con.execute(f"INSERT INTO {table} (anchor_entity, anchor_id, customer_key, previous_key, reason, "
                            "run_seq, assigned_at) VALUES (?, ?, ?, NULL, ?, ?, ?)",
                            [TOMBSTONE, erasure_id, key, TOMBSTONE, run_seq, _utcnow()])
        mark_steps(con, erasure_id, {STEP_KEY_MAP: n})


def _erase_deliveries(con, alerts: set[str], erasure_id: str) -> None:
    with transaction(con):
        n, delivered = 0, []
        if table_exists(con, schema.DELIVERIES_TABLE) and alerts:
            ids = {"ids": sorted(alerts)}
            where = "alert_id IN (SELECT unnest($ids::VARCHAR[]))"
            delivered = [r[0] for r in _rows(con, f"SELECT alert_id FROM {schema.DELIVERIES_TABLE} WHERE {where} "
                                                  "AND status = 'delivered' ORDER BY 1", ids)]
            n = first_row(con, f"SELECT count(*) FROM {schema.DELIVERIES_TABLE} WHERE {where}", ids)[0]
            con.execute(f"DELETE FROM {schema.DELIVERIES_TABLE} WHERE {where}", ids)
        if delivered:
            con.execute(f"UPDATE {schema.ERASURE_LEDGER} SET delivered_alert_ids = ? WHERE erasure_id = ?",
                        [delivered, erasure_id])
        mark_steps(con, erasure_id, {STEP_ALERTS: n})


def _outbox_drop(line: str, keys: set[str], alerts: set[str]) -> bool:
    try:
        alert = json.loads(line).get("alert") or {}
    except (json.JSONDecodeError, AttributeError):
        return False
    if alert.get("alert_id") in alerts:
        return True
    return alert.get("alert_type") != "metric_drop" and str(alert.get("customer_key")) in keys


def _outbox(settings: Settings, keys: set[int], alerts: set[str], write: bool) -> int:
    """Lines of the outbox file that are the subject's alerts; with ``write`` the file is rewritten without them
    (a temporary file renamed over it)."""
    path = alert_settings(data_dir=settings.data_dir).outbox_path
    if not path.exists() or not (keys or alerts):
        return 0
    names = {str(k) for k in keys}
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not _outbox_drop(line, names, alerts)]
    if write and len(kept) != len(lines):
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            fh.writelines(kept)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    return len(lines) - len(kept)


def _downstream_counts(con, subject: _Subject) -> dict[str, int]:
    """Rows of the dbt-built tables that hold the subject now (the rebuild recomputes them without them)."""
    out = {}
    for ent in ENTITIES:
        table, ids = f"{schema.STAGING}.{ent.staging_model}", subject.records.get(ent.name)
        if ids and table_exists(con, table):
            out[table] = first_row(con, f"SELECT count(*) FROM {table} WHERE {ent.staging_key} IN "
                                     "(SELECT unnest($i::VARCHAR[]))", {"i": sorted(ids)})[0]
    if subject.records and table_exists(con, schema.IDENTITY_RECORD_KEYS):
        out[schema.IDENTITY_RECORD_KEYS] = first_row(con, "SELECT count(*) FROM _subject")[0]
    for table in CUSTOMER_TABLES:
        if subject.keys and table_exists(con, table):
            out[table] = first_row(con, f"SELECT count(*) FROM {table} WHERE customer_key IN "
                                     "(SELECT unnest($k::BIGINT[]))", {"k": sorted(subject.keys)})[0]
    return {t: n for t, n in out.items() if n}


def mark_steps(con, operation_id: str, steps: dict[str, int | None]) -> None:
    """Record steps of an erasure or a rotation as done, with their row counts (in the caller's transaction)."""
    con.executemany(f"INSERT OR REPLACE INTO {schema.PRIVACY_PROGRESS} VALUES (?, ?, ?, ?)",
                    [[operation_id, step, rows, _utcnow()] for step, rows in steps.items()])


def run_steps(warehouse: Warehouse, operation_id: str, done: dict, needed: bool,
              on_step: Callable[[str], None] | None, steps) -> None:
    """``(name, run)`` steps outside the warehouse's transactions (dbt, the BI file), each recorded when it has
    run; ``needed`` false records them without running them (nothing changed)."""
    for name, run in steps:
        if name not in done:
            if needed:
                run()
            with warehouse.connect() as con:
                mark_steps(con, operation_id, {name: None})
            step_done(on_step, name)


def steps_done(con, operation_id: str) -> dict[str, int | None]:
    return dict(_rows(con, f"SELECT step, rows FROM {schema.PRIVACY_PROGRESS} WHERE operation_id = ?", [operation_id]))


def _counts(steps: dict[str, int | None]) -> dict[str, int]:
    """Rows per table from the progress rows (the quarantine tables' per-entity rows summed)."""
    out: dict[str, int] = {}
    for step, rows in steps.items():
        if rows is not None:
            table = step.split("/", 1)[0]
            out[table] = out.get(table, 0) + rows
    return {t: n for t, n in out.items() if n}


def unfinished(con) -> list[str]:
    if not table_exists(con, schema.ERASURE_LEDGER):
        return []
    return [r[0] for r in _rows(con, f"SELECT erasure_id FROM {schema.ERASURE_LEDGER} WHERE status <> 'done' "
                                     "ORDER BY requested_at")]


def _load_plan(con, erasure_id: str) -> tuple[set[int], dict[str, set[str]], set[str]]:
    keys, records, alerts = set(), {}, set()
    for kind, entity, value in _rows(con, f"SELECT kind, entity, value FROM {schema.ERASURE_PLAN} "
                                          "WHERE erasure_id = ?", [erasure_id]):
        if kind == "customer_key":
            keys.add(int(value))
        elif kind == "alert":
            alerts.add(value)
        else:
            records.setdefault(entity, set()).add(value)
    return keys, records, alerts


def step_done(on_step: Callable[[str], None] | None, name: str) -> None:
    """Tell the caller (the tests' crash points) that step ``name`` has committed."""
    if on_step:
        on_step(name)


def _finish(settings: Settings, warehouse: Warehouse, pii: Tokenizer, erasure_id: str,
            on_step: Callable[[str], None] | None = None) -> ErasureReport:
    """Every step of ``erasure_id`` not done yet, in order; then the ledger entry is done."""
    with warehouse.connect() as con:
        done = steps_done(con, erasure_id)
        keys, _, alerts = _load_plan(con, erasure_id)
        supp = Suppression.load(con, pii)
        for ent in ENTITIES:
            if schema.raw_table(ent.name) not in done:
                _erase_entity(con, ent, supp, _load_plan(con, erasure_id)[1].get(ent.name, set()), erasure_id)
                step_done(on_step, schema.raw_table(ent.name))
        records = _load_plan(con, erasure_id)[1]  # with the records the sweep found
        if STEP_ML not in done:
            _erase_ml(con, records, erasure_id)
            step_done(on_step, STEP_ML)
        if STEP_KEY_MAP not in done:
            _erase_key_map(con, records, keys, erasure_id)
            step_done(on_step, STEP_KEY_MAP)
        if STEP_ALERTS not in done:
            _erase_deliveries(con, alerts, erasure_id)
            step_done(on_step, STEP_ALERTS)
        done = steps_done(con, erasure_id)
    if STEP_OUTBOX not in done:
        n = _outbox(settings, keys, alerts, write=True)
        with warehouse.connect() as con:
            mark_steps(con, erasure_id, {STEP_OUTBOX: n})
        step_done(on_step, STEP_OUTBOX)
        done[STEP_OUTBOX] = n
    with warehouse.connect(read_only=True) as con:
        row = first_row(con, f"SELECT counts FROM {schema.ERASURE_LEDGER} WHERE erasure_id = ?", [erasure_id])
    downstream = json.loads(row[0]) if row and row[0] else {}
    removed = _counts(done)
    rebuild_needed = bool(removed or downstream or keys)
    run_steps(warehouse, erasure_id, done, rebuild_needed, on_step, (
        (STEP_DBT, lambda: rebuild.dbt_full_refresh(settings)),
        (STEP_ANALYTICS, lambda: rebuild.recompute_analytics(warehouse)),
        (STEP_PUBLISH, lambda: rebuild.republish(settings, warehouse))))
    with warehouse.connect() as con:
        done = steps_done(con, erasure_id)
        counts = {**downstream, **_counts(done)}
        delivered = first_row(con, f"SELECT delivered_alert_ids FROM {schema.ERASURE_LEDGER} WHERE erasure_id = ?",
                              [erasure_id])[0] or []
        with transaction(con):
            con.execute(f"UPDATE {schema.ERASURE_LEDGER} SET counts = ? WHERE erasure_id = ?",
                        [json.dumps(counts, sort_keys=True), erasure_id])
            con.execute(f"DELETE FROM {schema.ERASURE_PLAN} WHERE erasure_id = ?", [erasure_id])
        ledger = first_row(con, f"SELECT requests, customers, records FROM {schema.ERASURE_LEDGER} "
                                "WHERE erasure_id = ?", [erasure_id])
    # Last, the file is rewritten without the deleted rows' blocks; the entry is done in the rewritten file only.
    warehouse.compact(lambda con, catalog: finish_operation(con, catalog, schema.ERASURE_LEDGER, "erasure_id",
                                                            erasure_id))
    step_done(on_step, STEP_COMPACT)
    return ErasureReport(erasure_id, False, ledger[0], ledger[1], ledger[2], counts=counts,
                         rebuilt=rebuild_needed, delivered_alerts=len(delivered))


def finish_operation(con, catalog: str, ledger: str, id_column: str, operation_id: str) -> None:
    """Mark an erasure or a rotation done, in the compacted copy ``catalog`` of the warehouse."""
    con.execute(f"UPDATE {catalog}.{ledger} SET status = 'done', finished_at = ? WHERE {id_column} = ?",
                [_utcnow(), operation_id])
    con.execute(f"INSERT OR REPLACE INTO {catalog}.{schema.PRIVACY_PROGRESS} VALUES (?, ?, NULL, ?)",
                [operation_id, STEP_COMPACT, _utcnow()])


def open_warehouse(settings: Settings) -> Warehouse:
    """The warehouse a privacy operation works on: DuckDB only, and it must exist."""
    if settings.engine.is_spark:
        raise ErasureError("privacy operations run on the DuckDB engine only; with CEM_ENGINE=spark the lake's "
                           "Parquet tables are not rewritten (not supported yet).")
    warehouse = Warehouse(settings.warehouse_path)
    if not warehouse.path.exists():
        raise ErasureError(f"no warehouse at {warehouse.path}: check CEM_WAREHOUSE_PATH (nothing has been loaded "
                           "there, so there is nothing to erase).")
    return warehouse


def forget(settings: Settings, requests: list[Request], pii: Tokenizer, *, dry_run: bool = False,
           allow_shared: bool = False, on_step: Callable[[str], None] | None = None) -> ErasureReport:
    """Erase the people ``requests`` name (see the module docstring). ``on_step(name)`` is called after each
    step has committed."""
    started = time.perf_counter()
    if not requests:
        raise ErasureError("no request: name the person with --member-id, --phone, --email or --file.")
    warehouse = open_warehouse(settings)
    resumed = []
    if not dry_run:
        with warehouse.connect() as con:
            ensure_tables(con)
            pending = unfinished(con)
        for erasure_id in pending:
            _finish(settings, warehouse, pii, erasure_id, on_step)
            resumed.append(erasure_id)
    with warehouse.connect(read_only=dry_run) as con:
        subject = _resolve(con, requests, pii, allow_shared)
        downstream = _downstream_counts(con, subject)
        if dry_run:
            report = _dry_run(con, settings, subject, requests, pii, downstream)
            report.seconds = round(time.perf_counter() - started, 3)
            return report
        erasure_id = f"erasure-{_utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        with transaction(con):
            supp = Suppression(suppression_key(con, pii, create=True))
            entries = _suppression_entries(con, subject, requests, pii, supp)
            con.executemany(f"INSERT OR IGNORE INTO {schema.SUPPRESSIONS_TABLE} VALUES (?, ?, ?, ?)",
                            [[t, k, erasure_id, _utcnow()] for t, k in sorted(entries.items())])
            request_tokens = sorted({supp.identifier_token(r.kind, r.value) for r in requests})
            con.execute(f"INSERT INTO {schema.ERASURE_LEDGER} VALUES (?, 'started', ?, NULL, ?, ?, ?, ?, ?, NULL)",
                        [erasure_id, _utcnow(), len(requests), request_tokens, len(subject.keys), subject.n_records,
                         json.dumps(downstream, sort_keys=True)])
            plan = ([[erasure_id, "customer_key", None, str(k)] for k in sorted(subject.keys)]
                    + [[erasure_id, "record", e, rid] for e, ids in sorted(subject.records.items())
                       for rid in sorted(ids)]
                    + [[erasure_id, "alert", None, a] for a in sorted(subject.alerts)])
            if plan:
                con.executemany(f"INSERT INTO {schema.ERASURE_PLAN} VALUES (?, ?, ?, ?)", plan)
            mark_steps(con, erasure_id, {"plan": None})
    step_done(on_step, "plan")
    report = _finish(settings, warehouse, pii, erasure_id, on_step)
    report.suppressed, report.resumed = len(entries), resumed
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _dry_run(con, settings: Settings, subject: _Subject, requests: list[Request], pii: Tokenizer,
             downstream: dict[str, int]) -> ErasureReport:
    """What ``forget`` would remove, counted on a read-only connection; the suppression key is a throwaway one
    when none exists yet."""
    existing = Suppression.load(con, pii)
    key = suppression_key(con, pii) or secrets.token_bytes(32)
    supp = Suppression(key)
    entries = _suppression_entries(con, subject, requests, pii, supp)
    supp = Suppression(key, existing.tokens | frozenset(entries))
    counts = dict(downstream)
    records = {e: set(ids) for e, ids in subject.records.items()}
    for ent in ENTITIES:
        _prepare_gone(con, _matched_raw(con, ent, supp, records.get(ent.name, set())))
        gone = _gone_counts(con, ent)
        con.execute("DROP TABLE IF EXISTS _gone")
        for key_, table in (("raw", schema.raw_table(ent.name)), ("masked", schema.masked_table(ent.name)),
                            ("quarantine", schema.QUARANTINE_TABLE), ("warnings", schema.WARNINGS_TABLE)):
            n = sum(n for _, n in gone[key_])
            if n:
                counts[table] = counts.get(table, 0) + n
        records.setdefault(ent.name, set()).update(gone["masked_ids"])
    counts.update(_count_ml(con, records))
    counts[STEP_KEY_MAP] = _key_map_rows(con, records)
    if table_exists(con, schema.DELIVERIES_TABLE) and subject.alerts:
        counts[STEP_ALERTS] = first_row(con, f"SELECT count(*) FROM {schema.DELIVERIES_TABLE} WHERE alert_id IN "
                                          "(SELECT unnest($a::VARCHAR[]))", {"a": sorted(subject.alerts)})[0]
    counts[STEP_OUTBOX] = _outbox(settings, subject.keys, subject.alerts, write=False)
    return ErasureReport(None, True, len(requests), len(subject.keys), subject.n_records,
                         suppressed=len(set(entries) - existing.tokens), counts={t: n for t, n in counts.items() if n})
