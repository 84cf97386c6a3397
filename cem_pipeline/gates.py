"""The gates between raw and everything downstream: quality first, then privacy.

For each raw load not yet gated, every row either goes to ``quarantine.quarantined_records`` (with
the rules it broke and a masked rendering of the offending value) or, masked, to
``masked.<entity>``. A gate ledger records per load how many rows passed and how many were
quarantined, so ``rows written to raw = passed + quarantined`` can be proved for every load. Each
entity's gate run is one transaction: a crash gates nothing twice and loses nothing.

A row whose subject was erased (it matches the suppression list, :mod:`cem_pipeline.privacy.suppression`)
is quarantined under rule ``erased_subject`` with nothing of it but its load and content hash: no record
id, field or value. Raw landing already drops such rows on DuckDB; this is the gates' own line of defence
(rows landed before the erasure finished, or by an engine that does not filter at landing).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import asdict, dataclass, field

import orjson
import pyarrow as pa

from cem_pipeline import schema
from cem_pipeline.schema import DRIFT_TABLE, GATE_LEDGER, WARNINGS_TABLE
from cem_pipeline.privacy import Tokenizer, display_mask, mask_record, redact_text
from cem_pipeline.privacy.suppression import Suppression
from cem_pipeline.quality.rules import Violation, unknown_fields, validate_batch
from cem_pipeline.sources.catalog import FREE_TEXT, Entity
from cem_pipeline.warehouse import Warehouse

BATCH_ROWS = 20_000
PREVIEW_ROWS = 5
ERASED_RULE = "erased_subject"

MASKED_ARROW = pa.schema([
    ("record_id", pa.string()), ("source_updated_at", pa.string()), ("_record", pa.string()),
    ("_record_hash", pa.string()), ("_load_id", pa.string()), ("_ingested_at", pa.timestamp("us")),
])
QUARANTINE_ARROW = pa.schema([
    ("record_id", pa.string()), ("_load_id", pa.string()), ("_record_hash", pa.string()),
    ("rule", pa.string()), ("field", pa.string()), ("value_masked", pa.string()),
])


@dataclass
class GateResult:
    entity: str
    loads: list[str] = field(default_factory=list)
    rows_in: int = 0
    passed: int = 0
    quarantined: int = 0
    rules: dict[str, int] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)
    warned_rows: int = 0
    redactions: dict[str, int] = field(default_factory=dict)
    unknown_fields: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    preview: list[dict] = field(default_factory=list)  # a few masked records of this run, for the UI

    @property
    def failure_share(self) -> float:
        return self.quarantined / self.rows_in if self.rows_in else 0.0

    def as_dict(self) -> dict:
        out = asdict(self)
        out["failure_share"] = round(self.failure_share, 6)
        return out


def render_masked(entity: Entity, violation: Violation) -> str | None:
    """The offending value as it may be shown outside raw: masked or redacted, and short."""
    value = violation.value
    if value is None:
        return None
    role = entity.field(violation.field).pii if violation.field and violation.field in \
        {f.name for f in entity.fields} else None
    if role and role != FREE_TEXT and isinstance(value, str):
        return display_mask(role, value)
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    text = text.replace("\x00", "\\0")
    return redact_text(text[:200]).text


def _append(rows: dict, entity: Entity, shown_id, load: str, digest: str, v: Violation) -> None:
    for key, value in (("record_id", shown_id), ("_load_id", load), ("_record_hash", digest), ("rule", v.rule),
                       ("field", v.field), ("value_masked", render_masked(entity, v))):
        rows[key].append(value)


def ensure_tables(con, entity: Entity) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema.MASKED}")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema.QUARANTINE}")
    con.execute(f"CREATE TABLE IF NOT EXISTS {schema.masked_table(entity.name)} ({schema.MASKED_COLUMNS})")
    con.execute(f"CREATE TABLE IF NOT EXISTS {schema.QUARANTINE_TABLE} ({schema.QUARANTINE_COLUMNS})")
    con.execute(f"CREATE TABLE IF NOT EXISTS {GATE_LEDGER} ({schema.GATE_LEDGER_COLUMNS})")
    con.execute(f"CREATE TABLE IF NOT EXISTS {WARNINGS_TABLE} ({schema.WARNINGS_COLUMNS})")
    con.execute(f"CREATE TABLE IF NOT EXISTS {DRIFT_TABLE} ({schema.DRIFT_COLUMNS})")


def conflicting_versions(con, entity: Entity, loads: list[str]) -> set[tuple[str, str]]:
    """(record id, cursor value) keys of the pending loads that raw holds with two different contents
    (a source that reuses an id for different records). Raw already skips exact duplicates."""
    raw = schema.raw_table(entity.name)
    rows = con.execute(f"""
        SELECT record_id, source_updated_at FROM {raw}
        WHERE record_id IS NOT NULL AND source_updated_at IS NOT NULL
          AND (record_id, source_updated_at) IN (
              SELECT (record_id, source_updated_at) FROM {raw}
              WHERE _load_id IN (SELECT unnest($loads::VARCHAR[])))
        GROUP BY 1, 2 HAVING count(DISTINCT _record_hash) > 1""", {"loads": loads}).fetchall()
    return {(r[0], r[1]) for r in rows}


def _masked_id(entity: Entity, masked: dict, raw_id):
    """The record id as it may appear past raw: a token when the id itself is an identifier."""
    id_field = entity.field(entity.id_field)
    if id_field.pii and id_field.pii != FREE_TEXT:
        return masked.get(f"{entity.id_field}_token")
    return raw_id


@dataclass
class GatedBatch:
    """What the gates make of one batch of raw rows: the engine only stores it (DuckDB inserts it in the
    gate's transaction; Spark writes it from each executor), so both engines gate with this one function."""

    masked: pa.Table  # MASKED_ARROW: the rows that passed, masked
    quarantined: pa.Table  # QUARANTINE_ARROW: one row per broken rule of each quarantined row
    warned: pa.Table  # QUARANTINE_ARROW: one row per warning (the row itself passes)
    per_load: dict[str, list[int]] = field(default_factory=dict)  # load -> [rows in, passed, quarantined]
    drift: Counter = field(default_factory=Counter)  # (load, unknown field) -> rows
    rules: Counter = field(default_factory=Counter)
    warnings: Counter = field(default_factory=Counter)
    redactions: Counter = field(default_factory=Counter)
    warned_rows: int = 0
    preview: list[dict] = field(default_factory=list)


def gate_batch(entity: Entity, cols: dict[str, list], tokenizer: Tokenizer, conflicts: set[tuple[str, str]],
               now: dt.datetime | None = None, preview_rows: int = 0,
               suppression: Suppression | None = None) -> GatedBatch:
    """Suppression, quality, then privacy, for one batch of raw rows (``cols``: the raw columns of MASKED_ARROW,
    as lists)."""
    masked_rows = {k: [] for k in MASKED_ARROW.names}
    bad_rows = {k: [] for k in QUARANTINE_ARROW.names}
    warn_rows = {k: [] for k in QUARANTINE_ARROW.names}
    out = GatedBatch(*(pa.table({}),) * 3)  # the tables are set at the end
    records = [orjson.loads(body) for body in cols["_record"]]
    errors, warnings = validate_batch(entity, records, now, conflicts)
    id_role = entity.field(entity.id_field).pii
    for rid, cur, digest, load, ingested, record, violations, warned in zip(
            cols["record_id"], cols["source_updated_at"], cols["_record_hash"],
            cols["_load_id"], cols["_ingested_at"], records, errors, warnings):
        counts = out.per_load.setdefault(load, [0, 0, 0])
        counts[0] += 1
        if suppression and suppression.matches(entity.name, record):
            counts[2] += 1
            out.rules[ERASED_RULE] += 1
            for key, value in (("record_id", None), ("_load_id", load), ("_record_hash", digest), ("rule", ERASED_RULE),
                               ("field", None), ("value_masked", None)):
                bad_rows[key].append(value)
            continue
        for name in unknown_fields(entity, record):
            out.drift[(load, name)] += 1
        shown_id = tokenizer.token(id_role, rid) if (violations or warned) and rid is not None and id_role else rid
        for v in warned:
            out.warnings[v.rule] += 1
            _append(warn_rows, entity, shown_id, load, digest, v)
        if warned:
            out.warned_rows += 1
        if violations:
            counts[2] += 1
            for v in violations:
                out.rules[v.rule] += 1
                _append(bad_rows, entity, shown_id, load, digest, v)
            continue
        counts[1] += 1
        masked = mask_record(entity, record, tokenizer, out.redactions)
        if len(out.preview) < preview_rows:
            out.preview.append(masked)
        for key, value in (("record_id", _masked_id(entity, masked, rid)), ("source_updated_at", cur),
                           ("_record", orjson.dumps(masked).decode()), ("_record_hash", digest),
                           ("_load_id", load), ("_ingested_at", ingested)):
            masked_rows[key].append(value)
    out.masked = pa.table(masked_rows, schema=MASKED_ARROW)
    out.quarantined = pa.table(bad_rows, schema=QUARANTINE_ARROW)
    out.warned = pa.table(warn_rows, schema=QUARANTINE_ARROW)
    return out


def gate_entity(warehouse: Warehouse, entity: Entity, tokenizer: Tokenizer,
                now: dt.datetime | None = None) -> GateResult:
    """Gate every raw load of ``entity`` that has not been gated yet."""
    started = time.perf_counter()
    result = GateResult(entity.name)
    rules, redactions, warnings_seen = Counter(), Counter(), Counter()
    raw = schema.raw_table(entity.name)
    with warehouse.connect() as con:
        warehouse.ensure_raw(con, entity)
        ensure_tables(con, entity)
        # Every committed load is gated, empty ones too, so each has its line in the gate ledger.
        pending = [r[0] for r in con.execute(
            f"SELECT load_id FROM {schema.LOAD_LEDGER} WHERE entity = ? AND status = 'committed' AND load_id "
            f"NOT IN (SELECT load_id FROM {GATE_LEDGER} WHERE entity = ?) ORDER BY finished_at, load_id",
            [entity.name, entity.name]).fetchall()]
        if not pending:
            result.duration_s = round(time.perf_counter() - started, 3)
            return result
        reader = con.cursor()
        con.execute("BEGIN TRANSACTION")
        try:
            per_load = {load: [0, 0, 0] for load in pending}  # rows_in, passed, quarantined
            stream = reader.sql(
                f"SELECT record_id, source_updated_at, _record::VARCHAR AS _record, _record_hash, _load_id, "
                f"_ingested_at FROM {raw} WHERE _load_id IN (SELECT unnest($loads::VARCHAR[])) "
                "ORDER BY _load_id, _page_no, _row_no", params={"loads": pending}).to_arrow_reader(BATCH_ROWS)
            conflicts = conflicting_versions(con, entity, pending)
            suppression = Suppression.load(con, tokenizer)
            drift_rows: Counter = Counter()
            for batch in stream:
                gated = gate_batch(entity, batch.to_pydict(), tokenizer, conflicts, now,
                                   PREVIEW_ROWS - len(result.preview), suppression)
                for load, counts in gated.per_load.items():
                    per_load[load] = [a + b for a, b in zip(per_load[load], counts)]
                drift_rows.update(gated.drift)
                rules.update(gated.rules)
                warnings_seen.update(gated.warnings)
                redactions.update(gated.redactions)
                result.warned_rows += gated.warned_rows
                result.preview.extend(gated.preview)
                gated_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
                if gated.masked.num_rows:
                    con.register("masked_batch", gated.masked)
                    con.execute(f"INSERT INTO {schema.masked_table(entity.name)} "
                                f"SELECT *, ?::TIMESTAMP FROM masked_batch", [gated_at])
                    con.unregister("masked_batch")
                for table, rows in ((schema.QUARANTINE_TABLE, gated.quarantined), (WARNINGS_TABLE, gated.warned)):
                    if rows.num_rows:
                        con.register("gated_batch", rows)
                        con.execute(f"INSERT INTO {table} SELECT ?, record_id, _load_id, _record_hash, rule, "
                                    f"field, value_masked, ?::TIMESTAMP FROM gated_batch", [entity.name, gated_at])
                        con.unregister("gated_batch")
            gated_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
            for (load, name), n in sorted(drift_rows.items()):
                con.execute(f"INSERT INTO {DRIFT_TABLE} VALUES (?, ?, ?, ?, ?)", [entity.name, load, name, n, gated_at])
            for load, (rows_in, passed, quarantined) in per_load.items():
                drift_text = ",".join(sorted(n for (ld, n) in drift_rows if ld == load)) or None
                con.execute(f"INSERT INTO {GATE_LEDGER} VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [entity.name, load, rows_in, passed, quarantined, drift_text, gated_at])
                result.rows_in += rows_in
                result.passed += passed
                result.quarantined += quarantined
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            reader.close()
    result.loads = pending
    result.rules = dict(rules)
    result.warnings = dict(warnings_seen)
    result.redactions = dict(redactions)
    result.unknown_fields = sorted({name for (_, name) in drift_rows})
    result.duration_s = round(time.perf_counter() - started, 3)
    return result
