"""Rotating the PII key: every token re-made under a new ``CEM_PII_KEY``, every ``customer_key`` kept.

Tokens are HMACs, so a new token needs the plaintext, which only raw holds. ``rotate_key(settings, old, new)``:

1. builds the map old token -> new token from raw: every identifier of every raw record tokenized with both
   keys, exactly as the privacy gate does (:func:`cem_pipeline.privacy.records.identifier_tokens`); it lives
   in a temporary table of this process, never in the warehouse file;
2. checks the old key on a sample of every masked table (a token of the old key must match, a token of the
   new one means a run already gated with the new key, which is fine; anything else is the wrong old key and
   nothing is changed);
3. rewrites, one transaction per table with its progress row (``ops.privacy_progress``): each
   ``masked.<entity>`` (token columns of the record JSON, and the record id where it is a token), the record
   ids of ``quarantine.quarantined_records`` and ``quarantine.quality_warnings`` where they are tokens, and the
   anchor ids of the identity key map (member tokens), so every anchor keeps its ``customer_key``; a token with
   no plaintext in raw stops the table's rewrite before it commits;
4. reseals the suppression key with the new key (the suppression list itself is keyed by the suppression
   key, not the PII key, so it survives unchanged);
5. rebuilds every dbt model with a full refresh (staging, identity, marts: new tokens, the same keys and
   numbers), republishes the BI file, and compacts the warehouse file (the old tokens' freed blocks go).

``ops.key_rotations`` records each rotation by key fingerprints (never the keys). A crash leaves each table old
or new; running the same command again finishes it. Running it again after it finished changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

import orjson
import pyarrow as pa

from cem_pipeline import schema
from cem_pipeline.config import PII_KEY_VAR, Settings
from cem_pipeline.privacy import rebuild
from cem_pipeline.privacy.erasure import (
    finish_operation, mark_steps, open_warehouse, run_steps, step_done, steps_done, unfinished,
)
from cem_pipeline.privacy.records import identifier_tokens, output_columns
from cem_pipeline.privacy.suppression import ensure_tables, reseal
from cem_pipeline.privacy.tokens import Tokenizer
from cem_pipeline.sources.catalog import ENTITIES, FREE_TEXT, Entity
from cem_pipeline.warehouse import first_row, table_exists, transaction

READ_ROWS = 20_000
SAMPLE_ROWS = 50
MASKED_COLUMNS = ("record_id, source_updated_at, _record::VARCHAR AS _record, _record_hash, _load_id, _ingested_at, "
                  "_gated_at")
STEP_SEAL, STEP_DBT, STEP_PUBLISH = schema.SUPPRESSION_KEY_TABLE, "dbt", "bi_file"


class RotationError(ValueError):
    """The keys or the warehouse do not allow the rotation; the message says what to do."""


@dataclass
class RotationReport:
    rotation_id: str
    tokens_mapped: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # table -> rows rewritten
    resumed: bool = False
    rebuilt: bool = False
    seconds: float = 0.0

    def render(self) -> str:
        lines = [f"Key rotation {self.rotation_id}{' (finished after an interruption)' if self.resumed else ''}: "
                 f"{self.tokens_mapped:,} tokens mapped from raw."]
        width = max((len(t) for t in self.counts), default=10)
        lines.append(f"  {'table':<{width}}  rows re-tokenized")
        lines += [f"  {t:<{width}}  {n:>8,}" for t, n in sorted(self.counts.items())]
        lines.append("  rebuilt: every dbt model (full refresh) and the BI file; every customer_key kept."
                     if self.rebuilt else "  no table held a token of the old key: nothing was rebuilt.")
        lines.append(f"  Keep {PII_KEY_VAR} set to the new key from now on; re-export any copy made from the old "
                     f"BI file or marts (README \"Rotating the PII key\"). ({self.seconds:.1f} s)")
        return "\n".join(lines)


def _token_ids(ent: Entity) -> bool:
    """Whether the entity's record id is an identifier, stored past raw as its token (members)."""
    pii = ent.field(ent.id_field).pii
    return bool(pii) and pii != FREE_TEXT


def _identified(ent: Entity) -> bool:
    return any(f.pii and f.pii != FREE_TEXT for f in ent.fields)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def build_map(con, old: Tokenizer, new: Tokenizer) -> dict[str, str]:
    """old token -> new token of every identifier in raw."""
    mapping: dict[str, str] = {}
    for ent in ENTITIES:
        raw = schema.raw_table(ent.name)
        if not _identified(ent) or not table_exists(con, raw):
            continue
        reader = con.cursor()
        try:
            for batch in reader.sql(f"SELECT _record::VARCHAR AS _record FROM {raw}").to_arrow_reader(READ_ROWS):
                for body in batch.column("_record").to_pylist():
                    record = orjson.loads(body)
                    if not isinstance(record, dict):
                        continue
                    news = identifier_tokens(ent, record, new)
                    for column, token in identifier_tokens(ent, record, old).items():
                        if token is not None:
                            mapping[token] = news[column]
        finally:
            reader.close()
    return mapping


def _check_old_key(con, ent: Entity, old: Tokenizer, new: Tokenizer) -> None:
    """On a sample of masked rows and their raw rows: every token must be the old key's (or the new one's)."""
    masked, raw = schema.masked_table(ent.name), schema.raw_table(ent.name)
    if not (_identified(ent) and table_exists(con, masked) and table_exists(con, raw)):
        return
    rows = con.execute(f"SELECT m._record::VARCHAR, r._record::VARCHAR FROM {masked} m JOIN {raw} r "
                       f"ON r._load_id = m._load_id AND r._record_hash = m._record_hash LIMIT {SAMPLE_ROWS}").fetchall()
    for masked_body, raw_body in rows:
        stored, record = orjson.loads(masked_body), orjson.loads(raw_body)
        olds, news = identifier_tokens(ent, record, old), identifier_tokens(ent, record, new)
        for column, token in olds.items():
            if stored.get(column) is not None and stored[column] not in (token, news[column]):
                raise RotationError(f"the old key does not make the tokens in {masked} (fingerprint "
                                    f"{old.fingerprint}); give the key the warehouse was built with (--old-key-file). "
                                    "Nothing was changed.")


def _rewrite_masked(con, ent: Entity, mapping: dict[str, str], new_tokens: set[str], rotation_id: str) -> int:
    """Rows of masked.<entity> whose tokens changed; the table replaced in one transaction."""
    table = schema.masked_table(ent.name)
    token_ids = _token_ids(ent)
    token_columns = [c for c in output_columns(ent) if c.endswith("_token")]
    missing, changed, first = 0, 0, True

    def swap(token):
        nonlocal missing
        if token is None or token in new_tokens and token not in mapping:
            return token
        if token not in mapping:
            missing += 1
            return token
        return mapping[token]

    con.execute("DROP TABLE IF EXISTS _rotated")
    reader = con.cursor()
    try:
        for batch in reader.sql(f"SELECT {MASKED_COLUMNS} FROM {table}").to_arrow_reader(READ_ROWS):
            cols = batch.to_pydict()
            bodies, ids = [], []
            for rid, body in zip(cols["record_id"], cols["_record"]):
                record = orjson.loads(body)
                before = (rid, body)
                for column in token_columns:
                    if isinstance(record.get(column), str):
                        record[column] = swap(record[column])
                rid = swap(rid) if token_ids else rid
                body = orjson.dumps(record).decode()
                changed += (rid, body) != before
                bodies.append(body)
                ids.append(rid)
            rotated = batch.set_column(0, "record_id", pa.array(ids, pa.string())).set_column(
                2, "_record", pa.array(bodies, pa.string()))
            con.register("_rotated_batch", rotated)
            con.execute("CREATE TEMP TABLE _rotated AS SELECT * FROM _rotated_batch" if first else
                        "INSERT INTO _rotated SELECT * FROM _rotated_batch")
            con.unregister("_rotated_batch")
            first = False
    finally:
        reader.close()
    if missing:
        con.execute("DROP TABLE IF EXISTS _rotated")
        raise RotationError(f"{missing} token(s) in {table} have no plaintext in raw, so they cannot be re-made with "
                            f"the new key; {table} was left as it was. Restore raw from a backup and run again.")
    try:
        with transaction(con):
            if changed:
                con.execute(f"DELETE FROM {table}")
                if not first:
                    con.execute(f"INSERT INTO {table} SELECT record_id, source_updated_at, _record::JSON, "
                                "_record_hash, _load_id, _ingested_at, _gated_at FROM _rotated")
            mark_steps(con, rotation_id, {table: changed})
    finally:
        con.execute("DROP TABLE IF EXISTS _rotated")
    return changed


def _remap_column(con, table: str, column: str, where: str, params: list, rotation_id: str, step: str) -> int:
    """``column`` of the rows of ``table`` matching ``where`` from old to new tokens, in one transaction."""
    if not table_exists(con, table):
        with transaction(con):
            mark_steps(con, rotation_id, {step: 0})
        return 0
    unmapped = first_row(con, f"SELECT count(*) FROM {table} t WHERE {where} AND t.{column} IS NOT NULL AND "
                              f"t.{column} NOT IN (SELECT old FROM _rot_map) AND "
                              f"t.{column} NOT IN (SELECT new FROM _rot_map)", params)[0]
    if unmapped:
        raise RotationError(f"{unmapped} row(s) of {table} hold a {column} with no plaintext in raw; nothing of "
                            f"{table} was changed. Restore raw from a backup and run again.")
    with transaction(con):
        n = first_row(con, f"SELECT count(*) FROM {table} t JOIN _rot_map m ON t.{column} = m.old WHERE {where}",
                      params)[0]
        con.execute(f"UPDATE {table} t SET {column} = m.new FROM _rot_map m WHERE t.{column} = m.old AND {where}",
                    params)
        mark_steps(con, rotation_id, {step: n})
    return n


def _start(con, old: Tokenizer, new: Tokenizer) -> tuple[str, bool]:
    """The rotation to run: the unfinished one between these keys, or a new one; (id, resumed)."""
    if old.fingerprint == new.fingerprint:
        raise RotationError(f"the new key is the old key: set {PII_KEY_VAR} to the new key (the old one goes in "
                            "--old-key-file) and run again.")
    if unfinished(con):
        raise RotationError("an erasure is unfinished: run `cem privacy forget` with any request (or the same one) "
                            "to finish it, then rotate.")
    pending = con.execute(f"SELECT rotation_id, old_key_fingerprint, new_key_fingerprint FROM {schema.KEY_ROTATIONS} "
                          "WHERE status <> 'done'").fetchall()
    for rotation_id, old_fp, new_fp in pending:
        if (old_fp, new_fp) == (old.fingerprint, new.fingerprint):
            return rotation_id, True
        raise RotationError(f"rotation {rotation_id} from key {old_fp} to key {new_fp} is unfinished: run it again "
                            f"with those keys ({PII_KEY_VAR} = the new one) to finish it first.")
    return f"rotation-{_utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}", False


def rotate_key(settings: Settings, old: Tokenizer, new: Tokenizer,
               on_step: Callable[[str], None] | None = None) -> RotationReport:
    """Move the warehouse from the ``old`` PII key to ``new`` (see the module docstring). ``on_step(name)`` is
    called after each step has committed."""
    started = time.perf_counter()
    warehouse = open_warehouse(settings)
    with warehouse.connect() as con:
        ensure_tables(con)
        rotation_id, resumed = _start(con, old, new)
        done = steps_done(con, rotation_id)
        for ent in ENTITIES:
            if schema.masked_table(ent.name) not in done:
                _check_old_key(con, ent, old, new)
        if not resumed:
            con.execute(f"INSERT INTO {schema.KEY_ROTATIONS} VALUES (?, 'started', ?, ?, ?, NULL, NULL)",
                        [rotation_id, old.fingerprint, new.fingerprint, _utcnow()])
        mapping = build_map(con, old, new)
        con.register("_map_arrow", pa.table({"old": pa.array(list(mapping), pa.string()),
                                             "new": pa.array(list(mapping.values()), pa.string())}))
        con.execute("CREATE OR REPLACE TEMP TABLE _rot_map AS SELECT * FROM _map_arrow")
        con.unregister("_map_arrow")
        new_tokens = set(mapping.values())
        for ent in ENTITIES:
            step = schema.masked_table(ent.name)
            if step not in done and _identified(ent) and table_exists(con, step):
                _rewrite_masked(con, ent, mapping, new_tokens, rotation_id)
                step_done(on_step, step)
        token_id_entities = [e.name for e in ENTITIES if _token_ids(e)]
        for table, column, entity_column in ((schema.QUARANTINE_TABLE, "record_id", "entity"),
                                             (schema.WARNINGS_TABLE, "record_id", "entity"),
                                             (schema.IDENTITY_KEY_MAP, "anchor_id", "anchor_entity")):
            if table not in done:
                _remap_column(con, table, column, f"t.{entity_column} IN (SELECT unnest(?::VARCHAR[]))",
                              [token_id_entities], rotation_id, table)
                step_done(on_step, table)
        if STEP_SEAL not in done:
            with transaction(con):
                mark_steps(con, rotation_id, {STEP_SEAL: int(reseal(con, old, new))})
            step_done(on_step, STEP_SEAL)
        done = steps_done(con, rotation_id)
    counts = {t: n for t, n in done.items() if n and t != STEP_SEAL}
    rebuilt = bool(counts)
    run_steps(warehouse, rotation_id, done, rebuilt, on_step, (
        (STEP_DBT, lambda: rebuild.dbt_full_refresh(settings)),
        (STEP_PUBLISH, lambda: rebuild.republish(settings, warehouse))))
    with warehouse.connect() as con:
        con.execute(f"UPDATE {schema.KEY_ROTATIONS} SET counts = ? WHERE rotation_id = ?",
                    [json.dumps({"tokens_mapped": len(mapping), **counts}, sort_keys=True), rotation_id])
    # The old tokens' blocks out of the file; the rotation is done in the rewritten file only.
    warehouse.compact(lambda con, catalog: finish_operation(con, catalog, schema.KEY_ROTATIONS, "rotation_id",
                                                            rotation_id))
    return RotationReport(rotation_id, len(mapping), counts, resumed, rebuilt, round(time.perf_counter() - started, 3))
