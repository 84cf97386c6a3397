"""Identity helpers: the record -> customer_key map of a pipeline run, a member id's token, small evidence
tables with a known answer, and the comparison of the SQL models' output with the reference resolver
(tests/support/identity_reference.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cem_pipeline.privacy import Tokenizer
from tests.support.e2e import TEST_PII_KEY, query

EVIDENCE_COLUMNS = ["entity", "record_id", "kind", "token"]
KEY_MAP_ROW = ["anchor_entity", "anchor_id", "customer_key", "previous_key", "reason", "run_seq"]


def record_keys(warehouse: Path):
    return query(warehouse, "select entity, record_id, customer_key, match_rule from intermediate.int_identity__record_keys")


def member_token(raw_member_id: str) -> str:
    return Tokenizer(TEST_PII_KEY).token("member_id", raw_member_id)


def shop_and_family_evidence() -> pd.DataFrame:
    """Ten CRM customers: eight strangers share a shop's e-mail, two relatives one phone; C5b is a duplicate
    registration of C5 (same name and phone). A survey by the shop e-mail and a call from the family phone
    are ambiguous (no customer); call K2 is C3's. Whatever the over-merge cap, the ten stay ten people."""
    shop, phone = "email:shop", "phone:family"
    rows = []
    for i in range(10):
        rows += [("crm_customers", f"C{i}", "self", f"C{i}"), ("crm_customers", f"C{i}", "name", f"name:{i}"),
                 ("crm_customers", f"C{i}", "email", shop if i >= 2 else f"email:{i}"),
                 ("crm_customers", f"C{i}", "phone", phone if i < 2 else f"phone:{i}")]
    rows += [("crm_customers", "C5b", "self", "C5b"), ("crm_customers", "C5b", "name", "name:5"),
             ("crm_customers", "C5b", "phone", "phone:5")]
    rows += [("surveys", "S1", "email", shop), ("calls", "K1", "phone", phone), ("calls", "K2", "phone", "phone:3")]
    return pd.DataFrame(rows, columns=EVIDENCE_COLUMNS)


def assert_shop_and_family_resolved(resolution: pd.DataFrame) -> None:
    comp = dict(zip(resolution.record_id, resolution.component))
    assert len({comp[f"C{i}"] for i in range(10)}) == 10
    assert comp["C5b"] == comp["C5"]
    assert pd.isna(comp["S1"]) and pd.isna(comp["K1"]) and comp["K2"] == comp["C3"]


def chain_evidence(links: int, stride: int = 7919) -> pd.DataFrame:
    """One path of 2 * links + 1 anchors: member i names customers i and i + 1. Ids are numbered with a
    stride (coprime to the counts), so the smallest node sits anywhere on the path, not at one end."""
    customer = [f"C{(i * stride) % (links + 1):06d}" for i in range(links + 1)]
    rows = [("crm_customers", c, "self", c) for c in customer]
    for i in range(links):
        m = f"M{(i * stride) % links:06d}"
        rows += [("crm_members", m, "self", m), ("crm_members", m, "customer_id", customer[i]),
                 ("crm_members", m, "customer_id", customer[i + 1])]
    return pd.DataFrame(rows, columns=EVIDENCE_COLUMNS)


def resolution_differences(sql: pd.DataFrame, reference: pd.DataFrame) -> list[str]:
    """How the SQL model's resolution differs from the reference's: the same records, the same match_rule per
    record, and the same components as partitions of the records (the labels differ by design)."""
    both = reference.merge(sql, on=["entity", "record_id"], how="outer", suffixes=("_ref", "_sql"), indicator=True)
    problems = [f"{n} records only in the {side}" for side, n in
                (("reference", (both._merge == "left_only").sum()), ("SQL", (both._merge == "right_only").sum())) if n]
    both = both[both._merge == "both"]
    rules = both[both.match_rule_ref.fillna("-") != both.match_rule_sql.fillna("-")]
    if len(rules):
        sample = rules[["entity", "record_id", "match_rule_ref", "match_rule_sql"]].head(3).to_dict("records")
        problems.append(f"{len(rules)} match_rule differences, e.g. {sample}")
    unmatched = (both.component_ref.isna() != both.component_sql.isna()).sum()
    if unmatched:
        problems.append(f"{unmatched} records matched by one side only")
    matched = both.dropna(subset=["component_ref", "component_sql"])
    for a, b in (("component_ref", "component_sql"), ("component_sql", "component_ref")):
        split = (matched.groupby(a)[b].nunique() > 1).sum()
        if split:
            problems.append(f"{split} {a} components cut in several by the other side")
    return problems


def key_map_rows(key_map: pd.DataFrame) -> set[tuple]:
    """A key map as a set of rows (assigned_at, the wall clock, left out; a null previous_key as None)."""
    rows = key_map[KEY_MAP_ROW].astype(object).where(key_map[KEY_MAP_ROW].notna(), None)
    return {(e, a, int(k), None if p is None else int(p), r, int(s))
            for e, a, k, p, r, s in rows.itertuples(index=False)}
