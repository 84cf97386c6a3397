"""The quality gate against a catalogue of bad inputs, served by the simulator over HTTP.

Each kind of bad record (``simulator.faults.RECORD_FAULTS``) must land in quarantine with the
right rule and field, or pass with its warning / drift report where it is acceptable (mojibake that
is valid UTF-8, U+FFFD, an unknown field); transport faults (truncated pages, a UTF-16 body, 500s,
429s, a page served twice) are retried and land once. Every good record of the same batches reaches
staging, and served = raw = masked + quarantined holds for every load, then staging = masked.
A quarantined record corrected at the source flows through on the next load.
"""

from __future__ import annotations

from collections import defaultdict

import duckdb
import pytest

from cem_pipeline.gates import gate_entity
from cem_pipeline.schema import DRIFT_TABLE, WARNINGS_TABLE
from cem_pipeline.ingest import ingest_entity
from cem_pipeline.privacy import Tokenizer
from cem_pipeline.reconcile import reconcile
from cem_pipeline.simulator.faults import RECORD_FAULTS
from cem_pipeline.sources.catalog import ENTITIES, entity
from cem_pipeline.sources.client import SourceClient
from cem_pipeline.warehouse import Warehouse

KEY = b"quality-test-key-0123456789abcdef"


def _run_loads(settings, wh, tokenizer):
    out = {}
    for e in ENTITIES:
        ingest_entity(wh, SourceClient(settings.source(e.system), settings.http), e)
        out[e.name] = gate_entity(wh, e, tokenizer)
    return out


@pytest.fixture(scope="module")
def faulted(tmp_path_factory, corpus):
    from cem_pipeline.config import load_settings
    from cem_pipeline.simulator.server import SimulatorServer
    from tests.conftest import sim_env

    tmp = tmp_path_factory.mktemp("quality")
    sim = SimulatorServer(seed=5, customers=300, corpus=corpus).start()
    kinds = defaultdict(list)
    for f in RECORD_FAULTS.values():
        kinds[f.entity].append(f.kind)
    sim.set_faults(record_faults=dict(kinds),
                   script=["truncate", "bad_encoding", "error_500", "rate_limit", "duplicate_page"])
    settings = load_settings(sim_env(sim, tmp, page_size=40))
    wh = Warehouse(settings.warehouse_path)
    tokenizer = Tokenizer(KEY)
    results = _run_loads(settings, wh, tokenizer)
    faulted_ids = sim._admin("GET", "/admin/faulted")
    yield {"sim": sim, "settings": settings, "wh": wh, "tok": tokenizer, "results": results,
           "faulted": faulted_ids, "kinds": dict(kinds)}
    sim.stop()


def _q(wh, sql, params=None):
    with duckdb.connect(str(wh.path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_catalogue_has_at_least_25_kinds_of_bad_input():
    assert len(RECORD_FAULTS) >= 25
    assert len({(f.expect or f.warn or (f.drift,)) for f in RECORD_FAULTS.values()}) >= 15


@pytest.mark.parametrize("kind", sorted(RECORD_FAULTS))
def test_each_bad_input_is_quarantined_with_its_rule_or_passes_with_its_warning(faulted, kind):
    fault = RECORD_FAULTS[kind]
    e = entity(fault.entity)
    wh, tok = faulted["wh"], faulted["tok"]
    rid = faulted["faulted"][fault.entity][kind]
    shown = tok.token(e.field(e.id_field).pii, rid) if e.field(e.id_field).pii else rid
    quarantined = _q(wh, "select rule, field, record_id from quarantine.quarantined_records where entity = ?",
                     [e.name])
    if fault.expect is None:  # acceptable: it passes, with its warning / drift on record
        assert not [r for r in quarantined if r[2] == shown], f"{kind} was quarantined"
        assert _q(wh, f"select count(*) from masked.{e.name} where record_id = ?", [shown])[0][0] >= 1
        if fault.warn:
            assert (fault.warn[0], fault.warn[1], shown) in set(
                _q(wh, f"select rule, field, record_id from {WARNINGS_TABLE} where entity = ?", [e.name]))
        if fault.drift:
            assert fault.drift in {r[0] for r in _q(wh, f"select field from {DRIFT_TABLE} where entity = ?",
                                                     [e.name])}
        return
    rule, field = fault.expect
    if kind in ("missing_id", "non_object_record", "null_record"):  # no id left to file it under
        hits = [r for r in quarantined if r[0] == rule and r[1] == field and r[2] is None]
    else:
        hits = [r for r in quarantined if r[0] == rule and r[1] == field and r[2] == shown]
    assert hits, f"{kind}: expected {rule}:{field} for {rid}, quarantine holds {quarantined}"


def test_transport_faults_are_retried_and_land_once_and_every_load_reconciles(faulted):
    wh = faulted["wh"]
    for e in ENTITIES:
        rec = reconcile(wh, e)
        assert rec.ok, rec.mismatches
        assert rec.served == rec.written + rec.duplicates and rec.written == rec.passed + rec.quarantined
    # Nothing landed twice: each (id, version, content) once in raw.
    for e in ENTITIES:
        dup = _q(wh, f"select count(*) - count(distinct _record_hash) from raw.{e.name}")[0][0]
        assert dup == 0, e.name


def test_quarantine_shows_no_readable_pii(faulted):
    values = [r[0] for r in _q(faulted["wh"], "select value_masked from quarantine.quarantined_records "
                                              "where value_masked is not null")]
    assert values
    assert not any("13800138000" in v for v in values)
    assert all(len(v) <= 400 for v in values)


def test_good_records_reach_staging_and_a_corrected_record_flows_through(faulted, tmp_path):
    """dbt staging over the gated warehouse; then the source corrects a quarantined record."""
    import os

    from cem_pipeline.reconcile import reconcile_staged
    from tests.support.e2e import environment

    sim, wh, settings, tok = faulted["sim"], faulted["wh"], faulted["settings"], faulted["tok"]
    from assets.dbt import DBT_PROJECT_DIR, dbt_executable
    import subprocess

    def dbt_staging():
        env = {**os.environ, "CEM_WAREHOUSE_PATH": str(wh.path)}
        done = subprocess.run([dbt_executable(), "run", "--select", "staging", "--project-dir", str(DBT_PROJECT_DIR),
                               "--profiles-dir", str(DBT_PROJECT_DIR), "--quiet"], env=env, capture_output=True,
                              text=True, cwd=DBT_PROJECT_DIR)
        assert done.returncode == 0, done.stdout + done.stderr

    dbt_staging()
    for e in ENTITIES:
        rec = reconcile_staged(wh, e)
        assert rec.ok, (e.name, rec.mismatches)
    rid = faulted["faulted"]["surveys"]["nps_out_of_range"]
    staged = lambda: _q(wh, "select count(*) from staging.stg_surveys__responses where response_id = ?", [rid])[0][0]
    assert staged() == 0
    sim.set_faults()  # the source fixed its export...
    sim.advance(hours=1)
    sim._admin("POST", "/admin/correct", json={"entity": "surveys", "ids": [rid]})  # ...and re-sends the record
    with environment({}):
        results = _run_loads(settings, wh, tok)
    assert results["surveys"].passed >= 1 and results["surveys"].quarantined == 0
    dbt_staging()
    assert staged() == 1
    for e in ENTITIES:
        assert reconcile(wh, e).ok and reconcile_staged(wh, e).ok, e.name
