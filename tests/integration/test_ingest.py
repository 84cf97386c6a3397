"""Raw landing: every entity lands, the ledger adds up, reruns are idempotent, increments are exact,
and a load killed in the middle leaves nothing half-done behind."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import orjson
import pytest

from cem_pipeline import schema
from cem_pipeline.ingest import ingest_all, ingest_entity
from cem_pipeline.sources.catalog import ENTITIES, entity
from cem_pipeline.sources.client import SourceClient
from cem_pipeline.warehouse import Warehouse


def ts(value: str) -> int:
    return int(dt.datetime.fromisoformat(value).timestamp())


def versions(settings, name: str, load_id: str | None = None) -> list[tuple[str, int]]:
    """(record_id, updated_at epoch) of every raw row of ``name`` (of one load, if given)."""
    where, args = ("WHERE _load_id = ?", [load_id]) if load_id else ("", [])
    with Warehouse(settings.warehouse_path).connect(read_only=True) as con:
        rows = con.execute(f"SELECT record_id, source_updated_at FROM {schema.raw_table(name)} {where}",
                           args).fetchall()
    return [(rid, ts(upd)) for rid, upd in rows]


def truth_versions(sim, name: str, after: int | None = None, truth=None) -> set[tuple[str, int]]:
    truth = sim.world.truth_records(sim.now) if truth is None else truth
    t = truth[truth.entity == name]
    if after is not None:
        t = t[t.updated_at > after]
    return set(zip(t.record_id, (int(x) for x in t.updated_at)))


def ledger(settings):
    return Warehouse(settings.warehouse_path).ledger()


def watermark(settings, name: str) -> str | None:
    with Warehouse(settings.warehouse_path).connect(read_only=True) as con:
        return Warehouse.last_cursor(con, entity(name))


def assert_watermarks_consistent(settings):
    """Each entity's committed watermark is the newest updated_at that raw holds for it."""
    with Warehouse(settings.warehouse_path).connect(read_only=True) as con:
        for ent in ENTITIES:
            newest = con.execute(f"SELECT max(source_updated_at::TIMESTAMPTZ) FROM {schema.raw_table(ent.name)}"
                                 ).fetchone()[0]
            cursor = Warehouse.last_cursor(con, ent)
            assert cursor is not None and ts(cursor) == int(newest.timestamp()), ent.name


def test_all_entities_land_and_reruns_add_nothing(make_simulator, settings_for, tmp_path):
    sim = make_simulator(seed=13, customers=300)
    settings = settings_for(sim, tmp_path, page_size=70)
    results = ingest_all(settings)
    assert [r.entity for r in results] == [e.name for e in ENTITIES]
    served = sim.stats()["served"]
    for r in results:
        expected = truth_versions(sim, r.entity)
        landed = versions(settings, r.entity)
        assert len(landed) == len(set(landed)) == r.rows_written == len(expected) > 0, r.entity
        assert set(landed) == expected, r.entity
        assert r.records_served == served[r.entity] == r.rows_written + r.duplicates_skipped
        assert r.cursor_from is None and ts(r.cursor_to) == max(u for _, u in expected)
    book = ledger(settings)
    assert len(book) == len(ENTITIES) and set(book.status) == {"committed"}
    assert (book.records_served == book.rows_written + book.duplicates_skipped).all()
    assert book.finished_at.notna().all() and (book.finished_at >= book.started_at).all()
    assert_watermarks_consistent(settings)

    again = ingest_all(settings)
    assert sum(r.rows_written for r in again) == 0
    assert sum(r.records_served for r in again) == 0  # updated_since is exclusive
    assert all(r.cursor_from == r.cursor_to == first.cursor_to for r, first in zip(again, results))
    book = ledger(settings)
    assert len(book) == 2 * len(ENTITIES) and set(book.status) == {"committed"}


def test_advancing_the_clock_lands_exactly_the_new_changes(make_simulator, settings_for, tmp_path):
    sim = make_simulator(seed=13, customers=300)
    settings = settings_for(sim, tmp_path, page_size=100)
    first = {r.entity: r for r in ingest_all(settings)}
    for hours in (36, 0.5, 100):
        before = {e.name: ts(watermark(settings, e.name)) for e in ENTITIES}
        sim.advance(hours)
        results = ingest_all(settings)
        truth = sim.world.truth_records(sim.now)
        for r in results:
            new = truth_versions(sim, r.entity, after=before[r.entity], truth=truth)
            assert set(versions(settings, r.entity, r.load_id)) == new, (hours, r.entity)
            assert r.rows_written == len(new) and r.duplicates_skipped == 0
            # Raw now holds every version that was ever visible, each once.
            landed = versions(settings, r.entity)
            assert len(landed) == len(set(landed))
            assert {rid for rid, _ in landed} == {rid for rid, _ in truth_versions(sim, r.entity, truth=truth)}
        assert sum(r.rows_written for r in results) > 0 or hours < 1
    # Updates landed as new versions next to the old ones (history is kept).
    landed = versions(settings, "crm_orders")
    assert len(landed) > len({rid for rid, _ in landed}) >= first["crm_orders"].rows_written
    assert_watermarks_consistent(settings)


def test_raw_keeps_the_full_record_with_unknown_fields_and_duplicate_pages_land_once(
        make_simulator, settings_for, tmp_path):
    sim = make_simulator(seed=13, customers=150)
    settings = settings_for(sim, tmp_path, page_size=20)
    ent = entity("surveys")
    sim.set_faults(script=["duplicate_page"], unknown_field=True, duplicate_page_rate=0.3, seed=5)
    result = ingest_entity(Warehouse(settings.warehouse_path), SourceClient(settings.source("surveys"),
                                                                            settings.http), ent)
    sim.set_faults()
    expected = truth_versions(sim, ent.name)
    assert result.duplicates_skipped > 0  # pages really were served twice
    assert result.rows_written == len(expected) == result.records_served - result.duplicates_skipped
    landed = versions(settings, ent.name)
    assert len(landed) == len(set(landed)) and set(landed) == expected
    with Warehouse(settings.warehouse_path).connect(read_only=True) as con:
        rows = con.execute(f"SELECT record_id, _record, _record_hash, _load_id, _ingested_at, _page_no "
                           f"FROM {schema.raw_table(ent.name)}").fetchall()
        json_type = con.execute(f"SELECT DISTINCT typeof(_record) FROM {schema.raw_table(ent.name)}").fetchall()
        sql_field = con.execute(f"SELECT count(*) FROM {schema.raw_table(ent.name)} "
                                "WHERE _record->>'loyalty_segment_v2' = 'new-field'").fetchone()[0]
    assert json_type == [("JSON",)]
    assert sql_field == len(rows)
    # The JSON is the record as served: every contract field, plus the new one, values intact.
    served_now = {r["response_id"]: r for r in
                  (orjson.loads(orjson.dumps(x)) for x in sim.world.tables[ent.name].build(
                      *sim.world.tables[ent.name].visible_current(sim.now)[::2]))}
    for rid, body, digest, load_id, ingested_at, _ in rows:
        record = orjson.loads(body)
        assert record.pop("loyalty_segment_v2") == "new-field"
        assert record == served_now[rid]
        assert load_id == result.load_id and ingested_at is not None and len(digest) == 32


KILL_SCRIPT = """
import logging, sys
from cem_pipeline.config import load_settings
from cem_pipeline.ingest import ingest_all
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
ingest_all(load_settings())
print("FINISHED", flush=True)
"""


def test_a_load_killed_in_the_middle_is_abandoned_and_the_rerun_lands_everything_once(
        make_simulator, settings_for, env_for, tmp_path):
    sim = make_simulator(seed=17, customers=300)
    page_size = 20
    settings = settings_for(sim, tmp_path, page_size=page_size)
    victim = "crm_members"  # the second entity: the first one commits before the kill
    sim.set_faults(delay_s=0.12)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CEM_")},
           **env_for(sim, tmp_path, page_size=page_size, http_read_timeout=10)}
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if sim.stats()["served"].get(victim, 0) >= 3 * page_size:
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.03)
        else:
            pytest.fail("the load never reached the middle of " + victim)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert "FINISHED" not in proc.stdout.read()
    sim.set_faults()
    served_before = sim.stats()["served"][victim]
    assert 0 < served_before < len(truth_versions(sim, victim))

    # The crash left: the first entity committed, the victim 'started' with nothing in raw.
    book = ledger(settings)
    killed = book[book.entity == victim]
    assert list(killed.status) == ["started"]
    killed_id = killed.load_id.iloc[0]
    assert set(book[book.entity == "crm_customers"].status) == {"committed"}
    assert not versions(settings, victim)  # the raw table exists, the killed load wrote nothing to it
    assert watermark(settings, victim) is None

    results = {r.entity: r for r in ingest_all(settings)}
    book = ledger(settings)
    by_id = book.set_index("load_id")
    assert by_id.loc[killed_id, "status"] == "abandoned" and by_id.loc[killed_id, "finished_at"] is not None
    assert by_id.loc[results[victim].load_id, "status"] == "committed"
    assert results[victim].cursor_from is None
    assert results["crm_customers"].rows_written == 0  # committed before the kill, not landed twice
    assert set(book.status) == {"committed", "abandoned"} and (book.status == "abandoned").sum() == 1
    for ent in ENTITIES:
        landed = versions(settings, ent.name)
        assert len(landed) == len(set(landed)), ent.name  # each (record_id, version) once
        assert set(landed) >= truth_versions(sim, ent.name), ent.name
    with Warehouse(settings.warehouse_path).connect(read_only=True) as con:
        assert con.execute(f"SELECT count(*) FROM {schema.raw_table(victim)} WHERE _load_id = ?",
                           [killed_id]).fetchone()[0] == 0
    assert_watermarks_consistent(settings)
