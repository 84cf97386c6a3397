"""The one HTTP client, against the real simulator over HTTP: paging, resuming, and every injected fault."""

from __future__ import annotations

import datetime as dt
import socket
import time

import orjson
import pytest
import requests

from cem_pipeline import schema
from cem_pipeline.ingest import ingest_entity
from cem_pipeline.sources.catalog import ENTITIES, entity
from cem_pipeline.sources.client import SourceAuthError, SourceClient, SourceError
from cem_pipeline.warehouse import Warehouse


def ts(value: str) -> int:
    return int(dt.datetime.fromisoformat(value).timestamp())


def client_for(settings, system: str) -> SourceClient:
    return SourceClient(settings.source(system), settings.http)


def visible(sim, name: str) -> tuple[set, int]:
    """Ids visible at the simulator's clock, and the greatest current updated_at."""
    table = sim.world.tables[name]
    idx, cur, _ = table.visible_current(sim.now)
    return set(table.ids[idx]), int(cur.max())


# ------------------------------------------------------------------ paging and resuming
def test_pages_every_entity_to_the_end(simulator, settings_for, tmp_path):
    settings = settings_for(simulator, tmp_path, page_size=40)
    for ent in ENTITIES:
        pages = list(client_for(settings, ent.system).pages(ent))
        ids = [r[ent.id_field] for p in pages for r in p.records]
        expected, newest = visible(simulator, ent.name)
        assert len(ids) == len(set(ids)) == len(expected), ent.name
        assert set(ids) == expected, ent.name
        assert [p.page_no for p in pages] == list(range(len(pages)))
        assert pages[0].cursor is None and pages[-1].next_cursor is None
        assert all(p.cursor == prev.next_cursor for prev, p in zip(pages, pages[1:]))
        assert all(len(p.records) == 40 for p in pages[:-1])
        assert max(ts(r["updated_at"]) for p in pages for r in p.records) == newest


def test_resume_from_a_cursor(simulator, settings_for, tmp_path):
    settings = settings_for(simulator, tmp_path, page_size=30)
    ent = entity("crm_orders")
    client = client_for(settings, ent.system)
    pages = list(client.pages(ent))
    assert len(pages) >= 5
    # The opaque page cursor: asking with it again gives exactly the page that followed it.
    again = requests.get(settings.source("crm").base_url + ent.path, params={"cursor": pages[2].next_cursor,
                         "limit": 30}, headers={"X-API-Key": simulator.api_key}, timeout=5).json()
    assert again["data"] == pages[3].records and again["next_cursor"] == pages[3].next_cursor
    # The watermark: resuming after the last updated_at of page 2 yields exactly the rest.
    records = [r for p in pages for r in p.records]
    cut = 3 * 30 - 1
    while records[cut]["updated_at"] == records[cut + 1]["updated_at"]:
        cut += 1
    rest = [r for p in client.pages(ent, updated_since=records[cut]["updated_at"]) for r in p.records]
    assert [r["order_id"] for r in rest] == [r["order_id"] for r in records[cut + 1:]]
    assert list(client.pages(ent, updated_since=records[-1]["updated_at"]))[0].records == []


# ------------------------------------------------------------------ faults
# (each plan is set after the first page has been read, so the fault hits the middle of a load)
FAULTS = {
    "error_500": dict(script=["error_500"]),
    "error_503": dict(script=["error_503"]),
    "rate_limit": dict(script=["rate_limit"], retry_after_s=1),
    "timeout": dict(script=["timeout"], slow_s=1.6),
    "truncate": dict(script=["truncate"]),
    "duplicate_page": dict(script=["duplicate_page"]),
    "out_of_order_script": dict(script=["out_of_order"]),
    "malformed_script": dict(script=["malformed"]),
    "unknown_field_script": dict(script=["unknown_field"]),
    "out_of_order": dict(out_of_order=True),
    "malformed_rate": dict(malformed_rate=0.2, seed=4),
    "unknown_field": dict(unknown_field=True),
    "several_at_random": dict(error_rate=0.15, truncate_rate=0.1, duplicate_page_rate=0.1, seed=2),
}


def raw_rows(settings, name):
    with Warehouse(settings.warehouse_path).connect(read_only=True) as con:
        rows = con.execute(f"SELECT record_id, source_updated_at, _record FROM {schema.raw_table(name)}").fetchall()
        ledger = con.execute(f"SELECT status, records_served, rows_written, duplicates_skipped, cursor_to "
                             f"FROM {schema.LOAD_LEDGER} WHERE entity = ?", [name]).fetchall()
    return rows, ledger


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_fault_is_survived_with_every_record_landed_once(fault, make_simulator, settings_for, tmp_path):
    sim = make_simulator(seed=21, customers=120)
    page_size = 25
    settings = settings_for(sim, tmp_path, page_size=page_size)
    ent = entity("crm_customers")
    expected, newest = visible(sim, ent.name)
    clean_pages = -(-len(expected) // page_size)
    assert clean_pages >= 4

    # Pairwise page swapping only holds together when it is on for the whole paging pass.
    from_start = fault == "out_of_order"
    if from_start:
        sim.set_faults(**FAULTS[fault])

    def inject(page):
        if page.page_no == 0 and not from_start:
            sim.set_faults(**FAULTS[fault])

    started = time.perf_counter()
    result = ingest_entity(Warehouse(settings.warehouse_path), client_for(settings, "crm"), ent, on_page=inject)
    elapsed = time.perf_counter() - started
    stats = sim.stats()
    sim.set_faults()

    rows, ledger = raw_rows(settings, ent.name)
    records = [orjson.loads(r[2]) for r in rows]
    # Every visible record landed exactly once (a malformed record lands as served, for the quality gate).
    assert len(rows) == len(expected) == result.rows_written
    ids = [r[0] for r in rows if r[0] is not None]
    assert len(ids) == len(set(ids)) and set(ids) <= expected
    missing_id = len(rows) - len(ids)
    # Reconcile with the simulator's own count of what it served, and with the ledger.
    assert result.records_served == stats["served"][ent.name]
    assert result.records_served == result.rows_written + result.duplicates_skipped
    assert ledger == [("committed", result.records_served, result.rows_written, result.duplicates_skipped,
                       result.cursor_to)]
    requests_made = stats["requests"][ent.name]

    broken = fault.startswith("malformed")
    if not broken:
        assert missing_id == 0
        assert ts(result.cursor_to) == newest
        assert {(r["customer_id"], r["updated_at"]) for r in records} == {
            (r[0], r[1]) for r in rows}
    if fault in ("error_500", "error_503", "rate_limit", "timeout"):
        assert requests_made == result.pages + 1
        assert result.pages == clean_pages and result.duplicates_skipped == 0
    if fault == "rate_limit":
        assert elapsed >= 1.0  # Retry-After honoured
    if fault == "timeout":
        assert elapsed >= settings.http.read_timeout_s
    if fault == "truncate":
        assert result.unparsable_pages_refetched == 1 and requests_made == result.pages + 1
    if fault == "duplicate_page":
        assert result.pages == clean_pages + 1
        assert result.duplicates_skipped == page_size
    if fault in ("out_of_order", "out_of_order_script"):
        assert result.pages == clean_pages and result.duplicates_skipped == 0
    if fault.startswith("unknown_field"):
        with_new = [r for r in records if r.get("loyalty_segment_v2") == "new-field"]
        assert len(with_new) == (page_size if fault.endswith("script") else len(rows) - page_size)
    if fault == "malformed_script":
        assert missing_id == 1  # page 1 breaks its first record by dropping its id
    if fault == "malformed_rate":
        bad = [r for r in records if "customer_id" not in r or r.get("updated_at") == "not-a-date"
               or "_corrupt" in r]
        assert 5 <= len(bad) <= 0.5 * len(rows)
    if fault == "several_at_random":
        assert requests_made > result.pages


def test_out_of_order_pages_really_arrive_out_of_order(make_simulator, settings_for, tmp_path):
    sim = make_simulator(seed=21, customers=120)
    settings = settings_for(sim, tmp_path, page_size=25)
    ent = entity("crm_customers")
    sim.set_faults(out_of_order=True)
    stamps = [ts(r["updated_at"]) for p in client_for(settings, "crm").pages(ent) for r in p.records]
    sim.set_faults()
    assert stamps != sorted(stamps) and sorted(stamps) == sorted(
        int(x) for x in sim.world.tables[ent.name].visible_current(sim.now)[1])


def test_retries_run_out_with_a_clear_error(make_simulator, settings_for, tmp_path):
    sim = make_simulator(seed=21, customers=50)
    settings = settings_for(sim, tmp_path, http_max_retries=2)
    sim.set_faults(script=["error_503"] * 3)
    with pytest.raises(SourceError, match="HTTP 503 after 2 retries"):
        list(client_for(settings, "reviews").pages(entity("reviews")))
    sim.set_faults(script=["truncate"] * 3)
    with pytest.raises(SourceError, match="unparsable body 3 times"):
        list(client_for(settings, "reviews").pages(entity("reviews")))
    sim.set_faults(script=["timeout"] * 3, slow_s=0.8)
    with pytest.raises(SourceError, match="CEM_HTTP_READ_TIMEOUT"):
        list(client_for(settings_for(sim, tmp_path, http_max_retries=2, http_read_timeout=0.3), "reviews")
             .pages(entity("reviews")))
    sim.set_faults()
    assert list(client_for(settings, "reviews").pages(entity("reviews")))[0].records


# ------------------------------------------------------------------ errors that name what to fix
def test_wrong_api_key_names_the_variable(simulator, settings_for, tmp_path):
    settings = settings_for(simulator, tmp_path, source_api_key="not-the-key")
    with pytest.raises(SourceAuthError, match="CEM_SURVEYS_API_KEY") as exc:
        list(client_for(settings, "surveys").pages(entity("surveys")))
    assert "401" in str(exc.value)


def test_unreachable_source_names_the_base_url_variable(simulator, settings_for, tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = settings_for(simulator, tmp_path, reviews_base_url=f"http://127.0.0.1:{port}")
    started = time.perf_counter()
    with pytest.raises(SourceError, match="CEM_REVIEWS_BASE_URL") as exc:
        list(client_for(settings, "reviews").pages(entity("reviews")))
    assert not isinstance(exc.value, SourceAuthError)
    assert time.perf_counter() - started < 10
    # The other systems still read the simulator.
    assert list(client_for(settings, "calls").pages(entity("calls")))[0].records
