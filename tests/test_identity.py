"""Identity resolution against the simulator's truth: pairwise precision/recall, key stability across
runs, and the over-merge guards (shared shop e-mail, family phone)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cem_pipeline.identity import assign_keys, record_keys as py_record_keys, resolve
from cem_pipeline.simulator import names as V
from tests.e2e_support import environment, failed_checks, query, run_job
from tests.identity_support import member_token, record_keys, shared_run

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


def test_pairwise_precision_and_recall_against_truth(corpus):
    state = shared_run(corpus)
    assert state["result"].success and failed_checks(state["result"]) == []
    scored = _scored(state)
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


def test_fct_feedback_and_customer_360_carry_the_key(corpus):
    warehouse = shared_run(corpus)["warehouse"]
    fb = query(warehouse, "select customer_key, is_anonymous from marts.fct_feedback")
    assert (fb.is_anonymous == fb.customer_key.isna()).all()
    assert 0 < fb.is_anonymous.sum() < len(fb)
    dim = query(warehouse, "select * from marts.dim_customer_360")
    assert dim.customer_key.is_unique and len(dim) > 250
    assert set(fb.customer_key.dropna()) <= set(dim.customer_key)
    assert dim.order_count.sum() > 0 and dim.feedback_count.sum() == (~fb.is_anonymous).sum()
    assert dim.name_masked.dropna().str.contains(r"\*").all()


def test_existing_customer_keys_survive_new_data(corpus):
    state = shared_run(corpus)
    sim, warehouse = state["sim"], state["warehouse"]
    before = query(warehouse, "select entity, record_id, customer_key from intermediate.int_identity__record_keys "
                              "where is_anchor")
    map_before = len(query(warehouse, "select * from intermediate.int_identity__key_map"))
    sim.advance(hours=24)
    with environment(state["env"]):
        result = run_job("daily_cx_rebuild", state["instance"])
    assert result.success
    state["now"] = sim.now
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


def test_shared_shop_email_and_family_phone_do_not_weld_people():
    shop, phone = "email:shop", "phone:family"
    rows = []
    for i in range(10):  # eight strangers with the shop's e-mail, two relatives on one phone
        rows += [("crm_customers", f"C{i}", "self", f"C{i}"), ("crm_customers", f"C{i}", "name", f"name:{i}"),
                 ("crm_customers", f"C{i}", "email", shop if i >= 2 else f"email:{i}")]
        if i < 2:
            rows.append(("crm_customers", f"C{i}", "phone", phone))
        else:
            rows.append(("crm_customers", f"C{i}", "phone", f"phone:{i}"))
    # A duplicate registration of person 5: same name and phone -> merged.
    rows += [("crm_customers", "C5b", "self", "C5b"), ("crm_customers", "C5b", "name", "name:5"),
             ("crm_customers", "C5b", "phone", "phone:5")]
    # A survey by the shop e-mail and a call from the family phone are ambiguous: no customer.
    rows += [("surveys", "S1", "email", shop), ("calls", "K1", "phone", phone), ("calls", "K2", "phone", "phone:3")]
    ev = pd.DataFrame(rows, columns=["entity", "record_id", "kind", "token"])
    for cap in (3, 100):
        res = resolve(ev, max_anchors_per_token=cap)
        comp = dict(zip(res.record_id, res.component))
        assert len({comp[f"C{i}"] for i in range(10)}) == 10
        assert comp["C5b"] == comp["C5"]
        assert pd.isna(comp["S1"]) and pd.isna(comp["K1"]) and comp["K2"] == comp["C3"]


def test_shop_email_people_stay_apart_in_a_simulated_world():
    from bench.identity import KEY, world_evidence
    from cem_pipeline.privacy import Tokenizer
    from cem_pipeline.simulator.world import World

    world = World(seed=3, customers=3000)
    evidence, records = world_evidence(world, world.initial_now, Tokenizer(KEY))
    res = resolve(evidence)
    keyed = py_record_keys(res, assign_keys(res, None))
    shop_people = np.flatnonzero((world.email == V.SHARED_SHOP_EMAIL) & world.has_email)
    assert len(shop_people) >= 5
    cust = records[records.entity == "crm_customers"].merge(keyed, on=["entity", "record_id"])
    shop = cust[cust.person_id.isin(shop_people)]
    assert shop.groupby("customer_key").person_id.nunique().max() == 1


def test_key_map_merge_keeps_the_older_key_and_split_mints_a_new_one():
    def res(groups):
        return pd.DataFrame([("crm_customers", a, c, "anchor", True) for c, ids in enumerate(groups) for a in ids],
                            columns=["entity", "record_id", "component", "match_rule", "is_anchor"])

    h1 = assign_keys(res([["A"], ["B"], ["C", "D"]]), None)
    assert dict(zip(h1.anchor_id, h1.customer_key)) == {"A": 1, "B": 2, "C": 3, "D": 3}
    h2 = assign_keys(res([["A", "B"], ["C", "D"], ["E"]]), h1)  # A and B merge; E is new
    assert set(zip(h2.anchor_id, h2.customer_key, h2.reason)) == {("B", 1, "merged"), ("E", 4, "new")}
    assert h2.set_index("anchor_id").previous_key["B"] == 2
    hist = pd.concat([h1, h2])
    h3 = assign_keys(res([["A", "B"], ["C", "D", "X"], ["E"]]), hist)  # nothing changes but X
    assert list(h3.anchor_id) == ["X"] and h3.customer_key[0] == 3
    h4 = assign_keys(res([["A"], ["B"], ["C", "D", "X"], ["E"]]), pd.concat([hist, h3]))  # split A|B
    assert set(zip(h4.anchor_id, h4.customer_key, h4.reason)) in ({("B", 5, "split")}, {("A", 5, "split")})
