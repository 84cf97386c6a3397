"""Sources declared, not coded: the one client reads the simulator's second ("mixed") style — every paginator and
auth kind, other record paths and field names — through the declarations in sources/mixed/, over real HTTP,
and gets exactly the records the default style serves for the same world."""

from __future__ import annotations

import datetime as dt
import shutil
import time

import pytest
import requests
import yaml

from cem_pipeline import schema
from cem_pipeline.ingest import ingest_all, ingest_entity
from cem_pipeline.simulator.server import SimulatorServer
from cem_pipeline.simulator.styles import STYLES
from cem_pipeline.simulator.world import World
from cem_pipeline.sources.catalog import ENTITIES, entities_of
from cem_pipeline.sources.client import SourceAuthError, SourceClient
from cem_pipeline.warehouse import Warehouse
from tests.support import REPO

MIXED = REPO / "sources" / "mixed"
PAGE = 8  # small pages: even the session world's 28 calls take several
# system -> (paginator, auth, the variable its secret is read from first)
KINDS = {
    "crm": ("offset", "http_basic", "CEM_CRM_PASSWORD"),
    "reviews": ("page_number", "bearer", "CEM_REVIEWS_TOKEN"),
    "social": ("header_link", "oauth2_client_credentials", "CEM_SOCIAL_CLIENT_SECRET"),
    "calls": ("json_link", "api_key", "CEM_CALLS_API_KEY"),
    "surveys": ("cursor", "api_key", "CEM_SURVEYS_API_KEY"),
}


@pytest.fixture(scope="module")
def world(simulator):
    """The session simulator's world (seed 7, 300 people): built once for the whole run; 50 people have too
    few calls to page."""
    return simulator.world


@pytest.fixture(scope="module")
def default_sim(simulator):
    return simulator


@pytest.fixture(scope="module")
def mixed_sim(world):
    sim = SimulatorServer(world=world, style="mixed").start()
    yield sim
    sim.stop()


def client(settings_for, sim, tmp_path, system, sources=MIXED, **overrides) -> SourceClient:
    settings = settings_for(sim, tmp_path, **{"sources_dir": sources, "page_size": PAGE, **overrides})
    return SourceClient(settings.source(system), settings.http)


def records(pages) -> list:
    return [r for p in pages for r in p.records]


def ts(value: str) -> int:
    return int(dt.datetime.fromisoformat(value).timestamp())


@pytest.mark.parametrize("system", list(KINDS))
def test_every_paginator_and_auth_kind_reads_the_same_records_as_the_default_style(
        system, default_sim, mixed_sim, settings_for, tmp_path):
    paginator, auth, _ = KINDS[system]
    mixed = client(settings_for, mixed_sim, tmp_path, system)
    assert (mixed.declaration.paginator.type, mixed.declaration.auth.type) == (paginator, auth)
    default = client(settings_for, default_sim, tmp_path, system, sources=REPO / "sources")
    before = mixed_sim.stats()
    for ent in entities_of(system):
        want = records(default.pages(ent))
        pages = list(mixed.pages(ent))
        got = records(pages)
        assert len(pages) >= 2 and len(want) > PAGE, ent.name
        assert got == want, ent.name  # every record, in order, every field under the catalogue's name
        assert [p.page_no for p in pages] == list(range(len(pages)))
        assert pages[0].cursor is None and pages[-1].next_cursor is None
        assert all(p.cursor == prev.next_cursor for prev, p in zip(pages, pages[1:]))
        assert all(len(p.records) == PAGE for p in pages[:-1])
        renamed = STYLES["mixed"][system].renames.get(ent.name, {})
        assert all(served not in r for served in renamed.values() for r in got)
    after = mixed_sim.stats()
    assert after["unauthorized"] == before["unauthorized"]  # the credentials were right the first time
    # The system really does speak differently: plain default-style requests get nowhere.
    ent = entities_of(system)[0]
    plain = requests.get(mixed_sim.url + ent.path, params={"limit": 3}, headers={"X-API-Key": mixed_sim.api_key},
                         timeout=5)
    if system != "surveys":  # served as the default style serves it
        assert plain.status_code in (401, 404)


@pytest.mark.parametrize("system", list(KINDS))
def test_wrong_credentials_name_the_variable_of_each_auth_kind(system, mixed_sim, settings_for, tmp_path):
    mixed = client(settings_for, mixed_sim, tmp_path, system, source_api_key="not-the-secret")
    with pytest.raises(SourceAuthError) as exc:
        list(mixed.pages(entities_of(system)[0]))
    message = str(exc.value)
    assert KINDS[system][2] in message and "sources/mixed/" + system + ".yaml" in message
    assert ("401" in message) and KINDS[system][1] in message


@pytest.mark.parametrize("system", list(KINDS))
def test_the_incremental_parameter_in_each_format_returns_exactly_the_later_changes(
        system, mixed_sim, settings_for, tmp_path):
    mixed = client(settings_for, mixed_sim, tmp_path, system)
    ent = entities_of(system)[0]
    every = records(mixed.pages(ent))
    cut = len(every) // 2
    while every[cut]["updated_at"] == every[cut + 1]["updated_at"]:
        cut += 1
    watermark = every[cut]["updated_at"]
    rest = records(mixed.pages(ent, updated_since=watermark))
    assert rest == every[cut + 1:] and rest
    assert all(ts(r["updated_at"]) > ts(watermark) for r in rest)
    assert records(mixed.pages(ent, updated_since=every[-1]["updated_at"])) == []


@pytest.mark.parametrize("system", list(KINDS))
def test_a_load_resumes_from_any_page_state(system, mixed_sim, settings_for, tmp_path):
    ent = entities_of(system)[0]
    table = mixed_sim.world.tables[ent.name]
    mixed = client(settings_for, mixed_sim, tmp_path, system,
                   page_size=max(2, len(table.visible_current(mixed_sim.now)[0]) // 6))  # about six pages
    since = records(mixed.pages(ent))[0]["updated_at"]  # an incremental load: the state must carry the since too
    pages = list(mixed.pages(ent, updated_since=since))
    assert len(pages) >= 3
    resumed = list(mixed.pages(ent, resume=pages[1].next_cursor))
    assert records(resumed) == records(pages[2:])
    assert [p.next_cursor for p in resumed] == [p.next_cursor for p in pages[2:]]
    assert all(mixed_sim.api_key not in (p.next_cursor or "") for p in pages)  # no secret lands in raw


def test_faults_are_survived_in_every_paginator(settings_for, tmp_path, world):
    """One load per system with every transport and body fault in a row after its first page; each record
    lands once, and the retries and refetches are the ones the faults ask for."""
    sim = SimulatorServer(world=world, style="mixed").start()
    try:
        for system in ("crm", "reviews", "social", "calls"):
            ent = entities_of(system)[0]
            settings = settings_for(sim, tmp_path / system, sources_dir=MIXED, page_size=PAGE)
            script = ["error_503", "truncate", "bad_encoding", "duplicate_page"]
            if system == "social":  # the slow ones once, under OAuth2
                script = ["rate_limit", "timeout", *script]

            def inject(page, script=script):
                if page.page_no == 0:
                    sim.set_faults(script=script, retry_after_s=1, slow_s=1.3)

            before = sim.stats()
            started = time.perf_counter()
            result = ingest_entity(Warehouse(settings.warehouse_path), SourceClient(settings.source(system),
                                                                                   settings.http), ent, on_page=inject)
            elapsed = time.perf_counter() - started
            stats = sim.stats()
            sim.set_faults()
            table = world.tables[ent.name]
            expected = set(table.ids[table.visible_current(sim.now)[0]])
            with Warehouse(settings.warehouse_path).connect(read_only=True) as con:
                ids = [r[0] for r in con.execute(f"SELECT record_id FROM {schema.raw_table(ent.name)}").fetchall()]
            assert len(ids) == len(set(ids)) == len(expected) == result.rows_written, system
            assert set(ids) == expected, system
            assert result.unparsable_pages_refetched == 2, system  # the truncated and the UTF-16 body
            assert result.duplicates_skipped == PAGE, system  # the duplicated page landed once
            clean_pages = -(-len(expected) // PAGE)
            requests_made = stats["requests"][ent.name] - before["requests"].get(ent.name, 0)
            # 503 retried, two bodies fetched again (+ the 429 and the timeout retried); a next link that
            # points back costs one more page, an offset or page number repeats the records inside the page
            server_paged = system in ("social", "calls")
            assert result.pages == clean_pages + server_paged, system
            assert requests_made == result.pages + 3 + 2 * (system == "social"), system
            assert result.records_served == stats["served"][ent.name] - before["served"].get(ent.name, 0)
            if system == "social":
                assert elapsed >= 1.0 + settings.http.read_timeout_s  # Retry-After honoured, then the timeout
    finally:
        sim.stop()


def test_out_of_order_pages_by_page_number_still_land_every_record(world, settings_for, tmp_path):
    sim = SimulatorServer(world=world, style="mixed").start()
    try:
        sim.set_faults(out_of_order=True)
        got = records(client(settings_for, sim, tmp_path, "reviews").pages(entities_of("reviews")[0]))
        table = world.tables["reviews"]
        ids = [r["review_id"] for r in got]
        assert len(ids) == len(set(ids)) and set(ids) == set(table.ids[table.visible_current(sim.now)[0]])
        assert [r["updated_at"] for r in got] != sorted(r["updated_at"] for r in got)
    finally:
        sim.stop()


def test_oauth2_tokens_are_renewed_before_they_expire_and_after_a_401(world, settings_for, tmp_path):
    sim = SimulatorServer(world=world, style="mixed", token_ttl_s=0.4).start()
    try:
        ent = entities_of("social")[0]
        sim.set_faults(delay_s=0.15)
        mixed = client(settings_for, sim, tmp_path, "social", page_size=15)
        pages = list(mixed.pages(ent))
        stats = sim.stats()
        assert len(pages) >= 5 and len(records(pages)) == len(set(r["post_id"] for r in records(pages)))
        # ~0.15 s a page, tokens live 0.4 s: renewed ahead of expiry, never refused
        assert stats["tokens_issued"] >= 2 and mixed.auth.tokens_fetched == stats["tokens_issued"]
        assert stats["unauthorized"].get(ent.name, 0) == 0

        sim.set_faults()
        sim.oauth(ttl_s=3600)
        mixed = client(settings_for, sim, tmp_path, "social", page_size=20)

        def revoke(page):
            if page.page_no == 1:
                sim.oauth(revoke=True)  # the source ends every token mid-load

        got = []
        for page in mixed.pages(ent):
            got.extend(page.records)
            revoke(page)
        after = sim.stats()
        assert after["unauthorized"][ent.name] == 1 and after["tokens_issued"] == stats["tokens_issued"] + 2
        assert got == records(pages)
    finally:
        sim.stop()


def test_the_declared_rate_limit_is_honoured(mixed_sim, settings_for, tmp_path):
    folder = tmp_path / "sources"
    shutil.copytree(MIXED, folder)
    crm = yaml.safe_load((folder / "crm.yaml").read_text())
    crm["rate_limit"] = {"requests_per_second": 20}
    (folder / "crm.yaml").write_text(yaml.safe_dump(crm))
    ent = entities_of("crm")[0]
    mixed = client(settings_for, mixed_sim, tmp_path, "crm", sources=folder, page_size=40)
    mixed_sim.state.request_log[ent.name].clear()
    started = time.perf_counter()
    pages = list(mixed.pages(ent))
    elapsed = time.perf_counter() - started
    log = list(mixed_sim.state.request_log[ent.name])
    assert len(log) == len(pages) >= 5
    assert min(b - a for a, b in zip(log, log[1:])) >= 0.05 - 0.005  # 20 a second, as seen by the server
    assert elapsed >= (len(pages) - 1) / 20


def test_ingest_through_the_declarations_is_incremental(world, settings_for, tmp_path):
    """Raw landing through every style at once: the watermark goes out in each system's own format, and the
    second load lands exactly what changed."""
    sim = SimulatorServer(world=world, style="mixed").start()
    try:
        settings = settings_for(sim, tmp_path, sources_dir=MIXED, page_size=50)
        first = {r.entity: r for r in ingest_all(settings)}
        truth = world.truth_records(sim.now)
        for ent in ENTITIES:
            t = truth[truth.entity == ent.name]
            assert first[ent.name].rows_written == len(t) > 0 and ts(first[ent.name].cursor_to) == t.updated_at.max()
        sim.advance(48)
        second = {r.entity: r for r in ingest_all(settings)}
        truth = world.truth_records(sim.now)
        for ent in ENTITIES:
            t = truth[truth.entity == ent.name]
            new = t[t.updated_at > ts(first[ent.name].cursor_to)]
            assert second[ent.name].cursor_from == first[ent.name].cursor_to
            assert second[ent.name].rows_written == len(new) and second[ent.name].duplicates_skipped == 0, ent.name
        assert sum(r.rows_written for r in second.values()) > 0
    finally:
        sim.stop()
