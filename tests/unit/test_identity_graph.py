"""The reference identity resolver (tests/support/identity_reference.py, pandas), the oracle the SQL models are
held to in tests/integration/test_identity_sql.py: the over-merge guards (shared shop e-mail, family phone)
and the append-only key map (merges keep the older key, splits mint a new one). The graph end to end against
the simulator's truth is tests/e2e/test_identity.py."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cem_pipeline.simulator import names as V
from tests.support.identity import assert_shop_and_family_resolved, shop_and_family_evidence
from tests.support.identity_reference import assign_keys, record_keys as py_record_keys, resolve


def test_shared_shop_email_and_family_phone_do_not_weld_people():
    for cap in (3, 100):
        assert_shop_and_family_resolved(resolve(shop_and_family_evidence(), max_anchors_per_token=cap))


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
