"""Identity resolution against the simulator's truth on the session's shared runs: pairwise precision/recall,
the key on every feedback row and customer, and key stability across new data and a full rebuild. The pure
resolver and key-map logic is tests/unit/test_identity_graph.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.support.e2e import failed_checks, query, run_job
from tests.support.identity import member_token, record_keys

pytestmark = pytest.mark.e2e


def _pairs(sizes) -> int:
    s = np.asarray(sizes, dtype=np.int64)
    return int((s * (s - 1) // 2).sum())


def _scored(state) -> pd.DataFrame:
    """Staged records with a known person and at least one identifier, with their customer_key."""
    sim, warehouse = state["sim"], state["warehouse"]
    truth = sim.world.truth_records(state["now"])
    truth = truth[truth.entity != "crm_stores"].copy()
    members = truth.entity == "crm_members"
    truth.loc[members, "record_id"] = [member_token(m) for m in truth.loc[members, "record_id"]]
    keys = record_keys(warehouse)
    identified = query(warehouse, "select distinct entity, record_id from intermediate.int_identity__evidence "
                                  "where kind <> 'self'")
    merged = truth.merge(keys, on=["entity", "record_id"], how="left")
    merged = merged.merge(identified.assign(has_id=True), on=["entity", "record_id"], how="left")
    return merged[(merged.person_id >= 0) & merged.has_id.fillna(False).astype(bool)]


def _state(phase, sim) -> dict:
    return {"sim": sim, "warehouse": phase.warehouse, "now": phase.now}


def test_pairwise_precision_and_recall_against_truth(shared):
    assert shared.daily.result.success and failed_checks(shared.daily.result) == []
    scored = _scored(_state(shared.daily, shared.sim))
    truth_pairs = _pairs(scored.groupby("person_id").size())
    keyed = scored.dropna(subset=["customer_key"])
    predicted = _pairs(keyed.groupby("customer_key").size())
    tp = _pairs(keyed.groupby(["person_id", "customer_key"]).size())
    precision, recall = tp / predicted, tp / truth_pairs
    print(f"identity @300 people: {len(scored)} records, precision {tp}/{predicted} = {precision:.4f}, "
          f"recall {tp}/{truth_pairs} = {recall:.4f}")
    assert precision >= 0.995
    # Unlinkable records (social handles not in the CRM, nickname-only reviews) bound recall: see
    # bench/RESULTS.md; at this size the measured value is about 0.93.
    assert recall >= 0.88
    # Every CRM customer and member has a key; keys are unique per person among anchors (no over-merge).
    anchors = scored[scored.entity.isin(["crm_customers", "crm_members"])]
    assert anchors.customer_key.notna().all()
    assert (anchors.groupby("customer_key").person_id.nunique() == 1).mean() >= 0.99


def test_fct_feedback_and_customer_360_carry_the_key(shared):
    warehouse = shared.daily.warehouse
    fb = query(warehouse, "select customer_key, is_anonymous from marts.fct_feedback")
    assert (fb.is_anonymous == fb.customer_key.isna()).all()
    assert 0 < fb.is_anonymous.sum() < len(fb)
    dim = query(warehouse, "select * from marts.dim_customer_360")
    assert dim.customer_key.is_unique and len(dim) > 250
    assert set(fb.customer_key.dropna()) <= set(dim.customer_key)
    assert dim.order_count.sum() > 0 and dim.feedback_count.sum() == (~fb.is_anonymous).sum()
    assert dim.name_masked.dropna().str.contains(r"\*").all()


def test_existing_customer_keys_survive_new_data(shared):
    # The daily run's keys, then the state after 30 h of new data (hourly, incremental) rebuilt in full by the
    # daily job on a private copy: every known anchor keeps its key (or an alias to the merged one).
    before = query(shared.daily.warehouse, "select entity, record_id, customer_key "
                                           "from intermediate.int_identity__record_keys where is_anchor")
    map_before = len(query(shared.daily.warehouse, "select * from intermediate.int_identity__key_map"))
    rebuilt = shared.run_on_copy(shared.hourly, "rebuilt", lambda env: run_job("daily_cx_rebuild"))
    result, warehouse = rebuilt.result, rebuilt.warehouse
    assert result.success
    after = query(warehouse, "select entity, record_id, customer_key from intermediate.int_identity__record_keys "
                             "where is_anchor")
    both = before.merge(after, on=["entity", "record_id"], suffixes=("_before", "_after"))
    assert len(both) == len(before)
    aliases = query(warehouse, "select alias_key, customer_key from intermediate.int_identity__key_aliases")
    alias = dict(zip(aliases.alias_key, aliases.customer_key))
    moved = both[both.customer_key_before != both.customer_key_after]
    assert all(alias.get(b) == a for b, a in zip(moved.customer_key_before, moved.customer_key_after)), moved
    assert len(moved) <= len(both) * 0.01
    new_keys = set(after.customer_key) - set(before.customer_key)
    assert all(k > before.customer_key.max() for k in new_keys), "a new customer reused an old key"
    key_map = query(warehouse, "select * from intermediate.int_identity__key_map")
    assert len(key_map) >= map_before and key_map.customer_key.notna().all()
    # New anchors (if the day brought any) were added to the map; known anchors kept their rows.
    assert len(after) == len(before) or len(key_map) > map_before
