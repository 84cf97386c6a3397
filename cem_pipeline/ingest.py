"""Raw landing: stream an entity's pages from its source into ``raw.<entity>``, one transaction per load.

Pages are converted to Arrow batches and appended, one small committed insert per page, to a landing
table of this load (``raw._landing_<entity>_<id>``, in the raw schema because it holds readable PII).
It is an ordinary table in the file rather than a temporary one inside the load's transaction:
DuckDB keeps a transaction's uncommitted rows in memory, so a temp table made the peak grow with the
entity's size. At the end, rows whose (record id, content hash) is not yet in raw are appended, the
ledger row is committed, the watermark moves and the landing table is dropped — all in one
transaction. A crash anywhere before that commit leaves raw and the watermark as they were, and the
ledger shows the load as ``started``; the next load marks it ``abandoned``, drops its landing table
and starts from the last committed cursor.

Records of erased subjects (the suppression list, :mod:`cem_pipeline.privacy.suppression`) are dropped
before anything of them is written, even to the landing table; the ledger counts them (``suppressed``), so
``served = written + duplicates + suppressed``. Their cursor values still move the watermark.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Callable

import orjson
import pyarrow as pa

from cem_pipeline import schema
from cem_pipeline.privacy.suppression import Suppression
from cem_pipeline.privacy.tokens import Tokenizer
from cem_pipeline.sources.catalog import Entity
from cem_pipeline.sources.client import Page, SourceClient
from cem_pipeline.timestamps import parse_source_ts
from cem_pipeline.warehouse import Warehouse

log = logging.getLogger(__name__)

LANDING_MEMORY_LIMIT = "128MB"
FUTURE_CURSOR_SLACK = dt.timedelta(days=1)
LANDING_SCHEMA = pa.schema([
    ("record_id", pa.string()), ("source_updated_at", pa.string()), ("_record", pa.string()),
    ("_record_hash", pa.string()), ("_page_cursor", pa.string()), ("_page_no", pa.int32()),
    ("_row_no", pa.int32()),
])


@dataclass
class LoadResult:
    entity: str
    load_id: str
    cursor_from: str | None
    cursor_to: str | None
    pages: int
    records_served: int
    rows_written: int
    duplicates_skipped: int
    unparsable_pages_refetched: int
    duration_s: float
    suppressed: int = 0  # records of erased subjects, served but not landed

    def as_dict(self) -> dict:
        return asdict(self)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def page_to_arrow(page: Page, entity: Entity) -> tuple[pa.Table, dt.datetime | None, str | None]:
    """One page as an Arrow table, plus the greatest cursor value in it (and its text)."""
    ids, cursors, bodies, hashes, rows = [], [], [], [], []
    best, best_text = None, None
    latest_plausible = dt.datetime.now(dt.timezone.utc) + FUTURE_CURSOR_SLACK
    for k, record in enumerate(page.records):
        body = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
        rid = record.get(entity.id_field) if isinstance(record, dict) else None
        cur = record.get(entity.cursor_field) if isinstance(record, dict) else None
        ids.append(None if rid is None else str(rid))
        cursors.append(None if cur is None else str(cur))
        bodies.append(body.decode())
        hashes.append(hashlib.blake2b(body, digest_size=16).hexdigest())
        rows.append(k)
        ts = parse_source_ts(cur)
        if ts is not None and ts > latest_plausible:
            ts = None  # a cursor value in the future is a broken record, not a watermark
        if ts is not None and (best is None or ts > best):
            best, best_text = ts, cur
    n = len(rows)
    table = pa.Table.from_arrays([
        pa.array(ids, pa.string()), pa.array(cursors, pa.string()), pa.array(bodies, pa.string()),
        pa.array(hashes, pa.string()), pa.array([page.cursor] * n, pa.string()),
        pa.array([page.page_no] * n, pa.int32()), pa.array(rows, pa.int32()),
    ], schema=LANDING_SCHEMA)
    return table, best, best_text


def _drop_stale_landing(con, entity: Entity) -> None:
    """Drop landing tables that killed loads of this entity left behind."""
    stale = con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
                        "AND starts_with(table_name, ?)", [schema.RAW, f"{schema.LANDING_PREFIX}{entity.name}_"]).fetchall()
    for (name,) in stale:
        con.execute(f'DROP TABLE IF EXISTS {schema.RAW}."{name}"')


def _land_pages(con, landing: str, client: SourceClient, entity: Entity, cursor_from: str | None,
                on_page: Callable[[Page], None] | None, suppression: Suppression):
    """Append every page since ``cursor_from`` to the ``landing`` table, one committed insert per page, less the
    records of erased subjects. Returns (records served, suppressed, pages, greatest cursor value, its text)."""
    con.execute(f"CREATE TABLE {landing} ({schema.LANDING_COLUMNS})")
    served, suppressed, pages, best, best_text = 0, 0, 0, None, None
    for page in client.pages(entity, updated_since=cursor_from):
        batch, page_best, page_best_text = page_to_arrow(page, entity)
        served += batch.num_rows
        if suppression:
            keep = [not suppression.matches(entity.name, r) for r in page.records]
            if not all(keep):
                suppressed += keep.count(False)
                batch = batch.filter(pa.array(keep))
        if batch.num_rows:
            con.register("page_batch", batch)
            con.execute(f"INSERT INTO {landing} SELECT * FROM page_batch")
            con.unregister("page_batch")
        pages += 1
        if page_best is not None and (best is None or page_best > best):
            best, best_text = page_best, page_best_text
        if on_page:
            on_page(page)
    return served, suppressed, pages, best, best_text


def _append_new_versions(con, table: str, landing: str, load_id: str) -> int:
    """Append the landed versions raw has not seen (the same (id, hash) served twice lands once)."""
    return con.execute(f"""
        INSERT INTO {table}
        SELECT l.record_id, l.source_updated_at, l._record::JSON, l._record_hash, ?, ?,
               l._page_cursor, l._page_no, l._row_no
        FROM (
            SELECT *, row_number() OVER (PARTITION BY _record_hash ORDER BY _page_no, _row_no) AS k
            FROM {landing}
        ) l
        WHERE l.k = 1 AND NOT EXISTS (
            SELECT 1 FROM {table} r
            WHERE r._record_hash = l._record_hash
              AND r.source_updated_at IS NOT DISTINCT FROM l.source_updated_at
        )
    """, [load_id, _utcnow()]).fetchone()[0]


def ingest_entity(warehouse: Warehouse, client: SourceClient, entity: Entity,
                  on_page: Callable[[Page], None] | None = None) -> LoadResult:
    """Pull every change of ``entity`` since the last committed cursor into raw; return the figures. When the
    warehouse has a suppression list, the PII key (``CEM_PII_KEY`` or the demo key) unseals it."""
    started = time.perf_counter()
    load_id = f"{entity.name}-{_utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    with warehouse.connect() as con:
        # DuckDB's buffer pool (cached blocks of the landing and raw tables, the dedup join) stays under this;
        # beyond it, it reads back from or spills to disk. 128 MB costs no measurable speed.
        con.execute(f"SET memory_limit = '{LANDING_MEMORY_LIMIT}'")
        table = warehouse.ensure_raw(con, entity)
        con.execute(f"UPDATE {schema.LOAD_LEDGER} SET status = 'abandoned', finished_at = ? "
                    "WHERE entity = ? AND status = 'started'", [_utcnow(), entity.name])
        cursor_from = warehouse.last_cursor(con, entity)
        con.execute(f"INSERT INTO {schema.LOAD_LEDGER} (load_id, entity, system, status, cursor_from, started_at) "
                    "VALUES (?, ?, ?, 'started', ?, ?)", [load_id, entity.name, entity.system, cursor_from, _utcnow()])

        _drop_stale_landing(con, entity)
        suppression = Suppression.load(con, Tokenizer.from_env)
        landing = f"{schema.RAW}.{schema.LANDING_PREFIX}{entity.name}_{uuid.uuid4().hex[:12]}"
        try:
            served, suppressed, pages, best, best_text = _land_pages(con, landing, client, entity, cursor_from,
                                                                     on_page, suppression)
            con.execute("BEGIN TRANSACTION")
            try:
                written = _append_new_versions(con, table, landing, load_id)
                cursor_to = best_text if best_text is not None else cursor_from
                if cursor_from is not None and best is not None and parse_source_ts(cursor_from) > best:
                    cursor_to = cursor_from  # never move the watermark backwards
                con.execute(f"""UPDATE {schema.LOAD_LEDGER} SET status = 'committed', cursor_to = ?, pages = ?,
                                records_served = ?, rows_written = ?, duplicates_skipped = ?, finished_at = ?,
                                suppressed = ? WHERE load_id = ?""",
                            [cursor_to, pages, served, written, served - suppressed - written, _utcnow(),
                             suppressed, load_id])
                con.execute(f"DROP TABLE {landing}")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            con.execute(f"DROP TABLE IF EXISTS {landing}")  # after a commit it is gone already

    result = LoadResult(entity.name, load_id, cursor_from, cursor_to, pages, served, written,
                        served - suppressed - written, client.unparsable_pages, round(time.perf_counter() - started, 3),
                        suppressed)
    log.info("landed %s: %s", entity.name, result)
    return result


def ingest_all(settings, entities: tuple[Entity, ...] | None = None,
               warehouse: Warehouse | None = None) -> list[LoadResult]:
    """Land every entity (or the given ones) with one client per source system."""
    from cem_pipeline.sources.catalog import ENTITIES

    warehouse = warehouse or Warehouse(settings.warehouse_path)
    clients: dict[str, SourceClient] = {}
    results = []
    for ent in entities or ENTITIES:
        if ent.system not in clients:
            clients[ent.system] = SourceClient(settings.source(ent.system), settings.http)
        results.append(ingest_entity(warehouse, clients[ent.system], ent))
    return results
