"""Erasure on request and key rotation (issue 18 items 1 and 2), on one private copy of the session's hourly phase.

The copy first delivers its alerts (the outbox file and the delivery ledger exist), then three simulator people
are forgotten (``pick_subjects``: every record of theirs resolvable, no planted value shared with anyone), one by
member id, one by a reformatted phone, one by an upper-case e-mail in a batch file. The erasure is interrupted
twice (after a raw rewrite, after the dbt rebuild) and finished by the next ``cem privacy forget``. Then:

- an independent scan finds none of their planted values, member ids or tokens in any table of any schema (raw
  included), in any file under the data dir (BI file, Parquet, outbox), in the warehouse file's bytes, in the
  Dagster event log or DAGSTER_HOME of the runs;
- everyone else's raw, masked, identity, customer-360 and alert rows are unchanged, and the NPS mart equals the
  truth recomputed without them;
- forgetting them again changes nothing; a load that pulls everything the source serves brings none of them back;
- then the PII key is rotated: no old token remains anywhere, identity (customer_key per record), every mart and
  analysis table, the alert ledger and outbox are identical, and the suppression list still holds.

The shared simulator's clock is never moved: the later load re-pulls everything from the epoch instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import cem_cli
from cem_pipeline import schema
from cem_pipeline.alerts import alert_settings, deliver_pending, make_transport
from cem_pipeline.config import load_settings
from cem_pipeline.gates import ERASED_RULE, gate_batch, gate_entity
from cem_pipeline.ingest import ingest_entity
from cem_pipeline.privacy import Tokenizer, rebuild
from cem_pipeline.privacy.erasure import forget, make_request, read_requests
from cem_pipeline.privacy.suppression import Suppression
from cem_pipeline.reconcile import reconcile
from cem_pipeline.simulator.world import format_email, format_phone
from cem_pipeline.sources.catalog import ENTITIES, entity
from cem_pipeline.sources.client import SourceClient
from cem_pipeline.warehouse import Warehouse
from tests.support.e2e import TEST_PII_KEY, environment, query
from tests.support.privacy import (
    pick_subjects, raw_rows, rewind, subject_needles, tables, token_hits, tokens_in,
)
from tests.support.scan import scan_duckdb, scan_files, scan_instance, unescape
from tests.support.tables import VOLATILE, difference

pytestmark = pytest.mark.e2e
NEW_KEY = "rotated-" + "7" * 40
OLD, NEW = Tokenizer(TEST_PII_KEY), Tokenizer(NEW_KEY)


class Crash(Exception):
    """Raised after a step has committed: what a killed process leaves behind."""


def crash_after(step: str):
    def hook(name: str) -> None:
        if name == step:
            raise Crash(step)
    return hook


def cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cem_cli.main(argv)
    return rc, out.getvalue(), err.getvalue()


def fingerprint(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@dataclass
class Copy:
    env: dict
    workdir: Path
    subjects: list[int]
    argv: list[str]
    requests: list
    truth: pd.DataFrame
    needles: object
    before: dict = field(default_factory=dict)
    state: dict = field(default_factory=dict)

    @property
    def warehouse(self) -> Path:
        return self.workdir / "data" / "cem.duckdb"

    @property
    def settings(self):
        return load_settings(self.env, require_sources=False)

    def subject_ids(self) -> set[tuple[str, str]]:
        mine = self.truth[self.truth.person_id.isin(self.subjects)]
        return set(zip(mine.entity, mine.record_id))


@pytest.fixture(scope="module")
def copy(shared, tmp_path_factory) -> Copy:
    workdir = tmp_path_factory.mktemp("privacy_ops")
    env = shared.private_copy(shared.hourly, workdir)
    warehouse = workdir / "data" / "cem.duckdb"
    with environment(env):
        settings = alert_settings()
        delivered = deliver_pending(warehouse, make_transport(settings), settings)
    assert delivered.delivered and settings.outbox_path.exists()
    world, now = shared.sim.world, shared.hourly.now
    subjects = pick_subjects(world, now, warehouse, OLD)
    truth = world.truth_records(now)
    a, b, c = subjects
    member = truth[(truth.entity == "crm_members") & (truth.person_id == a)].record_id.iloc[0]
    batch = workdir / "requests.txt"
    email = json.dumps({"email": format_email(world.email[c], 2).upper()})
    batch.write_text(f"# one erasure request per line\n{email}\n")
    argv = ["privacy", "forget", "--member-id", f" {member.lower()} ", "--phone", format_phone(world.phone[b], 5),
            "--file", str(batch)]
    requests = [make_request("member_id", argv[3], "a"), make_request("phone", argv[5], "b"), *read_requests(batch)]
    out = Copy(env, workdir, subjects, argv, requests, truth, subject_needles(world, now, subjects, [OLD, NEW]))
    out.before = {"raw": raw_rows(warehouse), "tables": tables(warehouse), "outbox": settings.outbox_path.read_text()}
    return out


def test_dry_run_lists_what_would_go_and_changes_nothing(copy):
    before = fingerprint(copy.workdir / "data")
    with environment(copy.env):
        rc, out, err = cli(copy.argv + ["--dry-run"])
        report = forget(copy.settings, copy.requests, OLD, dry_run=True)
    assert rc == 0 and "Dry run: nothing was changed" in out, err
    assert report.customers == 3 and report.counts[schema.raw_table("crm_customers")] >= 3, report.counts
    assert f"{schema.raw_table('crm_members')}" in out and "marts.dim_customer_360" in out
    assert copy.needles.find(out + err) == []  # counts only: no value, no token
    assert fingerprint(copy.workdir / "data") == before
    copy.state["dry_run"] = report.counts


@pytest.fixture(scope="module")
def erased(copy) -> Copy:
    """The erasure, interrupted after raw.crm_orders is rewritten and again after the dbt rebuild, then finished
    by the command line."""
    started = time.perf_counter()
    with environment(copy.env):
        with pytest.raises(Crash):
            forget(copy.settings, copy.requests, OLD, on_step=crash_after(schema.raw_table("crm_orders")))
        rows = raw_rows(copy.warehouse)
        copy.state["after_first_crash"] = {
            "raw_left": {e for e, r in zip(rows.entity, rows.record_id) if (e, r) in copy.subject_ids()},
            "ledger": query(copy.warehouse, f"select status from {schema.ERASURE_LEDGER}").status.tolist(),
            "suppressed": query(copy.warehouse, f"select count(*) n from {schema.SUPPRESSIONS_TABLE}").n[0],
            "reconciled": {e.name: reconcile(Warehouse(copy.warehouse), e).mismatches for e in ENTITIES},
        }
        with pytest.raises(Crash):
            forget(copy.settings, copy.requests, OLD, on_step=crash_after("dbt"))
        copy.state["bi_before_publish"] = query(copy.settings.bi_file,
                                                "select count(*) n from marts.dim_customer_360").n[0]
        rc, out, err = cli(copy.argv)
    copy.state["seconds"] = round(time.perf_counter() - started, 1)
    assert rc == 0, err
    copy.state["cli"] = out
    return copy


def test_an_interrupted_erasure_leaves_each_table_old_or_new_and_the_next_run_finishes_it(erased):
    first = erased.state["after_first_crash"]
    # The suppression list is in place from the plan on; the entities up to crm_orders are rewritten, the rest not.
    assert first["ledger"] == ["started"] and first["suppressed"] > 0
    assert not first["raw_left"] & {"crm_customers", "crm_members", "crm_orders"}
    assert first["raw_left"] & {"surveys", "calls", "social_posts", "reviews"}, first
    assert all(m == [] for m in first["reconciled"].values()), first["reconciled"]  # the ledgers moved with raw
    # The BI file was still the old one after the dbt rebuild, before its republication.
    before = erased.before["tables"]["marts.dim_customer_360"]
    assert erased.state["bi_before_publish"] == len(before)
    ledger = query(erased.warehouse, f"select * from {schema.ERASURE_LEDGER} order by requested_at")
    assert ledger.status.tolist() == ["done", "done"], ledger
    assert "finished an erasure a crash had interrupted" in erased.state["cli"]
    first_entry, second_entry = ledger.iloc[0], ledger.iloc[1]
    assert first_entry.customers == 3 and first_entry.requests == 3 and len(first_entry.request_tokens) == 3
    counts = json.loads(first_entry.counts)
    assert counts["marts.dim_customer_360"] == 3 and counts[schema.raw_table("crm_customers")] >= 3
    assert counts[schema.DELIVERIES_TABLE] >= 1 and counts["alerts_outbox"] >= 1  # the first one had an alert
    assert json.loads(second_entry.counts) == {}  # the same requests again: nothing was left of them
    assert query(erased.warehouse, f"select count(*) n from {schema.ERASURE_PLAN}").n[0] == 0
    # The dry run counted what the erasure removed from the tables Python writes.
    for table, n in erased.state.get("dry_run", {}).items():
        if table.startswith(("raw.", "masked.", "ml.")):
            assert counts.get(table) == n, (table, n, counts.get(table))
    assert erased.needles.find(ledger.to_string() + erased.state["cli"]) == []
    print(f"\nforgot 3 people ({counts}) in {erased.state['seconds']} s, two interruptions included")


def test_no_trace_of_them_anywhere(erased, shared):
    needles = erased.needles
    hits, scanned = scan_duckdb(erased.warehouse, needles, skip_schemas=())  # every schema, raw included
    h, s = scan_files(erased.workdir / "data", needles, skip={erased.warehouse})  # BI file, Parquet, outbox
    hits += h
    scanned += s
    data = erased.warehouse.read_bytes()  # the deleted rows' blocks: the file was compacted
    hits += [("warehouse bytes", k, v) for k, v in ((k, str(v)) for lst in needles.long.values() for k, v in lst)
             if len(v) >= 5 and v.encode() in data]
    h, events = scan_instance(shared.instance, needles)  # the runs' event log (no operation writes to it)
    hits += h
    for path in shared.home.rglob("*"):
        if path.is_file():
            text = unescape(path.read_bytes().decode("utf-8", "ignore"))
            hits += [(f"file:{path.name}", *x) for x in needles.find(text)]
    assert len(scanned) > 80 and events > 100
    assert hits == [], hits[:10]
    # Sanity: the same scan finds them in the phase the copy was made from (raw, masked, identity, marts).
    found, _ = scan_duckdb(shared.hourly.warehouse, needles, skip_schemas=())
    assert {h[0].split(".")[0] for h in found} >= {"raw", "masked", "staging", "intermediate"}
    assert sum(v.encode() in shared.hourly.warehouse.read_bytes() for lst in needles.long.values()
               for _, v in lst if len(v) >= 5) > 0


def test_everyone_else_is_unchanged(erased):
    subject_ids = erased.subject_ids()
    before, after = erased.before["raw"], raw_rows(erased.warehouse)
    key = lambda f: set(zip(f.entity, f.record_id, f._load_id, f._record_hash))  # noqa: E731
    gone = key(before) - key(after)
    assert key(after) <= key(before) and gone
    assert {(e, r) for e, r, _, _ in gone} <= subject_ids  # only their rows left raw
    assert not {(e, r) for e, r, _, _ in key(after)} & subject_ids  # and every one of them did
    tables_after = tables(erased.warehouse)
    old = erased.before["tables"]
    for name in (f"masked.{e.name}" for e in ENTITIES):
        a, b = old[name], tables_after[name]
        assert set(b._record_hash) <= set(a._record_hash)
        assert difference(a[a._record_hash.isin(b._record_hash)], b) is None, name
    keys_before = old[schema.IDENTITY_RECORD_KEYS]
    keys_after = tables_after[schema.IDENTITY_RECORD_KEYS]
    erased_keys = set(keys_before.customer_key.dropna()) - set(keys_after.customer_key.dropna())
    assert len(erased_keys) == 3
    for name in (schema.IDENTITY_RECORD_KEYS, "marts.dim_customer_360", schema.ALERTS_TABLE):
        a, b = old[name], tables_after[name]
        assert difference(a[~a.customer_key.isin(erased_keys)], b, drop=VOLATILE) is None, name
    erased_alerts = set(old[schema.ALERTS_TABLE].alert_id) - set(tables_after[schema.ALERTS_TABLE].alert_id)
    deliveries = old[schema.DELIVERIES_TABLE]
    others = deliveries[~deliveries.alert_id.isin(erased_alerts)]
    assert difference(others, tables_after[schema.DELIVERIES_TABLE]) is None
    outbox = alert_settings(erased.env).outbox_path.read_text().splitlines()
    assert outbox == [line for line in erased.before["outbox"].splitlines()
                      if json.loads(line)["alert"].get("customer_key") not in erased_keys]
    key_map = tables_after[schema.IDENTITY_KEY_MAP]
    tombstones = key_map[key_map.reason == "erased"]
    assert set(tombstones.customer_key) >= erased_keys and (tombstones.anchor_entity == "erased").all()
    for ent in ENTITIES:
        assert reconcile(Warehouse(erased.warehouse), ent).mismatches == [], ent.name


def test_metrics_are_recomputed_without_them(erased, shared):
    truth = shared.sim.world.truth_feedback(shared.hourly.now)
    truth = truth[(truth.survey_type == "nps") & ~truth.person_id.isin(erased.subjects)].copy()
    truth["store_id"] = truth["store_id"].fillna("(none)")
    cells = ["day", "channel", "store_id", "touchpoint"]
    expected = truth.groupby(cells).score.agg(
        n="size", promoters=lambda s: int((s >= 9).sum()), detractors=lambda s: int((s <= 6).sum())).reset_index()
    mart = query(erased.warehouse, "select feedback_day as day, channel, store_id, touchpoint, n, promoters, "
                                   "detractors from marts.mart_nps_daily")
    mart["day"] = pd.to_datetime(mart["day"]).dt.date
    merged = expected.merge(mart, on=cells, how="outer", suffixes=("_truth", "_mart"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"].head()
    for col in ("n", "promoters", "detractors"):
        assert (merged[f"{col}_truth"] == merged[f"{col}_mart"]).all(), col
    bi = query(erased.settings.bi_file, "select sum(n) n from marts.mart_nps_daily").n[0]
    assert bi == expected.n.sum()  # the republished BI file holds the recomputed numbers


def test_forgetting_them_again_changes_nothing(erased):
    before = {name: frame for name, frame in tables(erased.warehouse).items() if not name.startswith("ops.")}
    with environment(erased.env):
        report = forget(erased.settings, erased.requests, OLD)
    assert report.counts == {} and not report.rebuilt and report.customers == 0
    after = {name: frame for name, frame in tables(erased.warehouse).items() if not name.startswith("ops.")}
    assert before.keys() == after.keys()
    assert all(difference(before[n], after[n]) is None for n in before)


def _reload_everything(copy: Copy) -> dict[str, int]:
    """Every entity pulled again from the epoch, then gated: suppressed records per entity."""
    rewind(copy.warehouse, [e.name for e in ENTITIES])
    settings = load_settings(copy.env)
    warehouse, suppressed = Warehouse(copy.warehouse), {}
    with environment(copy.env):
        pii = Tokenizer.from_env()
        for ent in ENTITIES:
            load = ingest_entity(warehouse, SourceClient(settings.source(ent.system), settings.http), ent)
            suppressed[ent.name] = load.suppressed
            gate_entity(warehouse, ent, pii)
            assert reconcile(warehouse, ent).mismatches == [], ent.name
    return suppressed


def test_a_later_load_does_not_bring_them_back(erased, shared):
    served_before = query(erased.warehouse, f"select sum(records_served) n from {schema.LOAD_LEDGER}").n[0]
    suppressed = _reload_everything(erased)
    assert sum(suppressed.values()) >= len(erased.subject_ids()), suppressed  # the source served them all again
    assert query(erased.warehouse, f"select sum(records_served) n from {schema.LOAD_LEDGER}").n[0] > served_before
    rows = raw_rows(erased.warehouse)
    assert not set(zip(rows.entity, rows.record_id)) & erased.subject_ids()
    hits, _ = scan_duckdb(erased.warehouse, erased.needles, skip_schemas=())
    assert hits == [], hits[:5]
    # The gates' own check, for rows that reach raw some other way: their raw rows of before the erasure.
    with duckdb.connect(str(shared.hourly.warehouse), read_only=True) as con:
        cols = con.execute("select record_id, source_updated_at, _record::varchar as _record, _record_hash, _load_id, "
                           "_ingested_at from raw.surveys").df()
    cols = cols[[("surveys", r) in erased.subject_ids() for r in cols.record_id]]
    assert len(cols)
    with duckdb.connect(str(erased.warehouse), read_only=True) as con:
        supp = Suppression.load(con, OLD)
    gated = gate_batch(entity("surveys"), cols.to_dict("list"), OLD, set(), suppression=supp)
    assert gated.masked.num_rows == 0 and set(gated.quarantined.column("rule").to_pylist()) == {ERASED_RULE}
    assert set(gated.quarantined.column("record_id").to_pylist()) == {None}
    assert set(gated.quarantined.column("value_masked").to_pylist()) == {None}


# --- key rotation, on the same copy after the erasure ------------------------------------------------------

def _plain_members(warehouse: Path) -> dict[str, str]:
    """member token (old and new key) -> member id, from raw."""
    ids = query(warehouse, "select distinct record_id from raw.crm_members").record_id
    return {**{OLD.token("member_id", m): m for m in ids}, **{NEW.token("member_id", m): m for m in ids}}


def _identity(warehouse: Path) -> dict[str, pd.DataFrame]:
    plain = _plain_members(warehouse)
    keys = query(warehouse, f"select entity, record_id, customer_key, match_rule, is_anchor "
                            f"from {schema.IDENTITY_RECORD_KEYS}")
    keys["record_id"] = [plain[r] if e == "crm_members" else r for e, r in zip(keys.entity, keys.record_id)]
    key_map = query(warehouse, f"select * from {schema.IDENTITY_KEY_MAP}")
    key_map["anchor_id"] = [plain[a] if e == "crm_members" else a
                            for e, a in zip(key_map.anchor_entity, key_map.anchor_id)]
    return {"record_keys": keys, "key_map": key_map}


@pytest.fixture(scope="module")
def rotated(erased) -> dict:
    old_key_file = erased.workdir / "old.key"
    old_key_file.write_text(TEST_PII_KEY + "\n")
    wrong = erased.workdir / "wrong.key"
    wrong.write_text("w" * 40)
    env = {**erased.env, "CEM_PII_KEY": NEW_KEY}
    with environment(erased.env):  # the marts as the next run would build them after the reload test's loads
        rebuild.dbt_full_refresh(erased.settings)
    out = {"tokens": tokens_in(erased.warehouse), "identity": _identity(erased.warehouse),
           "tables": tables(erased.warehouse, ("marts", "analytics", "ops")),
           "outbox": alert_settings(env).outbox_path.read_bytes()}
    with environment(env):
        before = fingerprint(erased.workdir / "data")
        out["wrong"] = cli(["privacy", "rotate-key", "--old-key-file", str(wrong)])
        out["unchanged_after_wrong_key"] = fingerprint(erased.workdir / "data") == before
        started = time.perf_counter()
        out["rotate"] = cli(["privacy", "rotate-key", "--old-key-file", str(old_key_file)])
        out["seconds"] = round(time.perf_counter() - started, 1)
        out["again"] = cli(["privacy", "rotate-key", "--old-key", TEST_PII_KEY])
    out["env"] = env
    return out


def test_rotation_refuses_a_wrong_old_key_and_changes_nothing(rotated):
    rc, _, err = rotated["wrong"]
    assert rc == 2 and "does not make the tokens" in err and len(err.strip().splitlines()) == 1, err
    assert rotated["unchanged_after_wrong_key"]


def test_rotation_leaves_no_old_token(rotated, erased):
    rc, out, err = rotated["rotate"]
    assert rc == 0 and "every customer_key kept" in out, err
    old_tokens = rotated["tokens"]
    assert len(old_tokens) > 1000
    now = tokens_in(erased.warehouse)
    assert now and not now & old_tokens
    files = [p for p in (erased.workdir / "data").rglob("*") if p.is_file() and p.suffix != ".pt"]
    assert token_hits(files, old_tokens) == []  # every file's bytes: warehouse (compacted), BI file, Parquet, outbox
    print(f"\nrotated {len(old_tokens)} tokens in {rotated['seconds']} s")


def test_rotation_keeps_identity_marts_and_alerts(rotated, erased):
    identity = _identity(erased.warehouse)
    for name, frame in rotated["identity"].items():
        assert difference(frame, identity[name], drop={"component"}) is None, name
    after = tables(erased.warehouse, ("marts", "analytics", "ops"))
    for name, frame in rotated["tables"].items():
        if name in (schema.KEY_ROTATIONS, schema.PRIVACY_PROGRESS, schema.SUPPRESSION_KEY_TABLE):
            continue
        assert difference(frame, after[name]) is None, name
    assert alert_settings(rotated["env"]).outbox_path.read_bytes() == rotated["outbox"]
    rc, out, err = rotated["again"]
    assert rc == 0 and "nothing was rebuilt" in out, err
    assert query(erased.warehouse, f"select status from {schema.KEY_ROTATIONS}").status.tolist() == ["done", "done"]


def test_the_suppression_list_survives_the_rotation(rotated, erased):
    copy = Copy(rotated["env"], erased.workdir, erased.subjects, erased.argv, erased.requests, erased.truth,
                erased.needles)
    suppressed = _reload_everything(copy)
    assert sum(suppressed.values()) >= len(erased.subject_ids())
    rows = raw_rows(erased.warehouse)
    assert not set(zip(rows.entity, rows.record_id)) & erased.subject_ids()
