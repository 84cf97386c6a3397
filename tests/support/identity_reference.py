"""The reference identity resolver: from identifier tokens on every record to one stable ``customer_key``.

The pipeline resolves identity in SQL (dbt_project/models/intermediate/int_identity__resolution.sql and
int_identity__key_map.sql, connected components in dbt_project/macros/identity.sql). This is the same rules
in pandas/numpy/scipy, written independently (scipy's ``connected_components``, first rows by input order),
kept as the oracle the SQL is held to (tests/integration/test_identity_sql.py). Where a record carries
several tokens of one kind this takes the first row's, the SQL the smallest; the evidence has one per kind.

Input (``resolve``): the evidence table, one row per (record, identifier):
``entity, record_id, kind, token``; kinds are ``customer_id`` (a CRM customer id the record points at,
its own id on a CRM customer), ``member`` (member token; its own token on a member), ``order`` (order id,
its own id on an order), ``name``, ``phone``, ``email``, ``handle``, ``wechat``, ``phone_masked``
(token of a source-masked phone ``138****8000``) and ``nickname``.

The rules (over-merge guards in **bold**):

1. *Anchors* are CRM customer records and loyalty members. They are unioned by hard links: a member's
   ``customer_id``; an order's customer and member; a survey naming both a member and an order; members
   sharing a WeChat id; customers sharing a social handle.
2. **Two CRM customer records are merged through contact data only when two identifiers agree**:
   (name, phone), (name, e-mail) or (phone, e-mail); a shared phone alone (a family phone) or a shared
   e-mail alone (a shop's e-mail) never welds them.
3. **A contact token attached to more than ``max_anchors_per_token`` distinct anchor records is no
   evidence at all** (neither merge nor attachment), e.g. ``service@xiaodian-shop.com``.
4. Other records (orders, reviews, calls, surveys, social posts) *attach* to a component: first by a hard
   key (customer id, member, order id); else by a contact token (phone, e-mail, handle) **only when every
   candidate points at exactly one component**; else (reviews, weak evidence, optional) by the nickname
   (components that reviews with the same nickname were attached to through their order) intersected
   with the masked phone (components whose customers carry that masked phone), again only when exactly
   one component remains. Attachments never merge components.

``assign_keys`` turns run-local component numbers into keys that never change: see its docstring.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

CUSTOMERS, MEMBERS = "crm_customers", "crm_members"
ORDERS, REVIEWS, SURVEYS = "crm_orders", "reviews", "surveys"
ANCHOR_ENTITIES = (CUSTOMERS, MEMBERS)
CONTACT_KINDS = ("phone", "email", "handle")
ANCHOR_CONTACT_KINDS = ("name", "phone", "email", "handle", "phone_masked")
DEFAULT_MAX_ANCHORS_PER_TOKEN = 6
RESOLUTION_COLUMNS = ["entity", "record_id", "component", "match_rule", "is_anchor"]
# match_rule of an attached record, by the code the attachment step stores (0: not attached).
RULES = np.array([None, "customer_id", "member", "order", "contact_unique", "weak_unique"], dtype=object)

# Implementation: every string (entity, kind, record id, token) is turned into an integer code once
# (``_encode``); all joins, groupings and de-duplications below run on int64 arrays. Per-thing values
# live in lookup tables indexed by code (``_table``): "the node of customer id code c" is ``cnode[c]``.


def _table(size: int) -> np.ndarray:
    """A lookup table of ``size`` slots holding -1 ("none"), plus one spare last slot that stays -1,
    so that looking up code -1 (a missing value) gives -1 again instead of wrapping around."""
    return np.full(size + 1, -1, np.int64)


def _first(keys: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Lookup table key -> the value of the key's first row (rows with key -1 ignored)."""
    out = _table(size)
    keys = np.asarray(keys, np.int64)
    ok = keys >= 0
    keys, values = keys[ok], np.asarray(values, np.int64)[ok]
    first = ~pd.Series(keys).duplicated().to_numpy()
    out[keys[first]] = values[first]
    return out


def _without_common(token_of: np.ndarray, max_count: int) -> np.ndarray:
    """``token_of`` (a token code per anchor node, -1: none) less the tokens held by more than
    ``max_count`` nodes (rule 3: such a token is no evidence)."""
    out = token_of.copy()
    held = np.flatnonzero(out >= 0)
    _, inverse, counts = np.unique(out[held], return_inverse=True, return_counts=True)
    out[held[counts[inverse] > max_count]] = -1
    return out


def _star_edges(group_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges joining every node with a group (``group_of[node] >= 0``) to the first node of its group."""
    nodes = np.flatnonzero(group_of >= 0)
    _, first, inverse = np.unique(group_of[nodes], return_index=True, return_inverse=True)
    centre = nodes[first][inverse]
    keep = centre != nodes
    return nodes[keep], centre[keep]


def _token_components(token_of: np.ndarray, comp_of: np.ndarray) -> pd.DataFrame:
    """Distinct (token, comp) over the nodes that carry a token."""
    nodes = np.flatnonzero(token_of >= 0)
    return pd.DataFrame({"token": token_of[nodes], "comp": comp_of[nodes]}).drop_duplicates()


def _candidates(rec: np.ndarray, token: np.ndarray, lookup: pd.DataFrame) -> pd.DataFrame:
    """(rec, comp): the components each record's tokens point at, through ``lookup`` (token, comp)."""
    rows = pd.DataFrame({"rec": rec, "token": token})
    return rows.merge(lookup, on="token")[["rec", "comp"]]


def _unique_component(cands: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(rec, comp) of the records whose candidates in ``cands`` (rec, comp) name exactly one component."""
    cands = cands.drop_duplicates(["rec", "comp"])
    one = cands.groupby("rec")["comp"].transform("size").to_numpy() == 1
    return cands.rec.to_numpy()[one], cands.comp.to_numpy()[one]


@dataclass
class _Coded:
    """The evidence rows that carry a token, with every string replaced by an integer code."""

    entity: np.ndarray  # per row: entity code (``entity_names[code]``)
    kind: np.ndarray  # per row: kind code (``kind_code[kind]``)
    rid: np.ndarray  # per row: record id code; record ids and tokens share one code space (``vocab``),
    token: np.ndarray  # so that "this token is that record's id" is an integer equality
    rec: np.ndarray  # per row: record number of (entity, record id), numbered in order of first appearance
    n_rec: int
    vocab: pd.Index  # code -> record id / token string
    entity_names: pd.Index
    entity_code: dict  # entity / kind string -> code
    kind_code: dict
    cust_codes: np.ndarray  # record id codes of the anchors (graph nodes): customers 0..n_c-1, then members
    member_codes: np.ndarray

    def rows(self, entity: str | None = None, kind: str | None = None) -> np.ndarray:
        """Boolean mask of the rows of an entity and/or kind."""
        mask = np.ones(len(self.rid), bool)
        if entity is not None:
            mask &= self.entity == self.entity_code.get(entity, -1)
        if kind is not None:
            mask &= self.kind == self.kind_code.get(kind, -1)
        return mask

    def first_token(self, entity: str, kind: str) -> np.ndarray:
        """Lookup table record id code -> token code of the record's first ``kind`` row."""
        m = self.rows(entity, kind)
        return _first(self.rid[m], self.token[m], len(self.vocab))


def _encode(evidence: pd.DataFrame) -> _Coded:
    """Factorize the evidence strings once. Rows without a record id are dropped; rows without a token
    count only to make their CRM customer / member an anchor."""
    ev = evidence.dropna(subset=["record_id"])
    ev = ev[["entity", "record_id", "kind"]].astype(str).assign(token=ev.token)
    has_token = ev.token.notna().to_numpy()
    tokens = ev.token[has_token].astype(str)
    codes, vocab = pd.factorize(pd.concat([ev.record_id, tokens], ignore_index=True))
    entity_all, entity_names = pd.factorize(ev.entity)
    entity_code = {e: i for i, e in enumerate(entity_names)}
    rid_all = codes[:len(ev)]

    def anchor_codes(entity: str) -> np.ndarray:  # distinct record ids of the entity, in order of appearance
        return pd.unique(rid_all[entity_all == entity_code.get(entity, -1)])

    entity, rid = entity_all[has_token], rid_all[has_token]
    kind, kind_names = pd.factorize(ev.kind[has_token])
    rec, rec_keys = pd.factorize(entity.astype(np.int64) * len(vocab) + rid)
    return _Coded(entity=entity, kind=kind, rid=rid, token=codes[len(ev):], rec=rec, n_rec=len(rec_keys),
                  vocab=vocab, entity_names=entity_names, entity_code=entity_code,
                  kind_code={k: i for i, k in enumerate(kind_names)},
                  cust_codes=anchor_codes(CUSTOMERS), member_codes=anchor_codes(MEMBERS))


def resolve(evidence: pd.DataFrame, max_anchors_per_token: int = DEFAULT_MAX_ANCHORS_PER_TOKEN,
            weak_evidence: bool = True) -> pd.DataFrame:
    """Resolve every record of ``evidence`` to a run-local component (NaN when it matches none).

    Returns ``entity, record_id, component, match_rule, is_anchor``: one row per record; components
    are numbered 0..k-1 and contain at least one anchor (a CRM customer or member).
    """
    ev = _encode(evidence)
    n_c, n_m = len(ev.cust_codes), len(ev.member_codes)
    n = n_c + n_m
    cnode, mnode = _table(len(ev.vocab)), _table(len(ev.vocab))  # record id code -> graph node
    cnode[ev.cust_codes] = np.arange(n_c)
    mnode[ev.member_codes] = n_c + np.arange(n_m)

    # Contact tokens per anchor node (its first of each kind), less those too common to be evidence (rule 3).
    contact = {}
    for kind in ANCHOR_CONTACT_KINDS:
        m = ev.rows(CUSTOMERS, kind)
        contact[kind] = _first(cnode[ev.rid[m]], ev.token[m], n)
    for kind in CONTACT_KINDS:
        contact[kind] = _without_common(contact[kind], max_anchors_per_token)
    m = ev.rows(MEMBERS, "wechat")
    wechat = _without_common(_first(mnode[ev.rid[m]], ev.token[m], n), max_anchors_per_token)

    src, dst = [], []

    def add(a, b):
        ok = (a >= 0) & (b >= 0)
        src.append(a[ok])
        dst.append(b[ok])

    # Rule 1: hard links. Orders and surveys by their first customer / member / order token.
    m = ev.rows(MEMBERS, "customer_id")
    add(mnode[ev.rid[m]], cnode[ev.token[m]])
    o_cust, o_mem = cnode[ev.first_token(ORDERS, "customer_id")], mnode[ev.first_token(ORDERS, "member")]
    add(o_cust, o_mem)
    order_node = np.where(o_cust >= 0, o_cust, o_mem)  # order id code -> its customer's node, else its member's
    add(mnode[ev.first_token(SURVEYS, "member")], order_node[ev.first_token(SURVEYS, "order")])
    add(*_star_edges(wechat))
    add(*_star_edges(contact["handle"]))
    # Rule 2: two agreeing identifiers (a pair of token codes as one int64 group key).
    for a, b in (("name", "phone"), ("name", "email"), ("phone", "email")):
        both = (contact[a] >= 0) & (contact[b] >= 0)
        add(*_star_edges(np.where(both, contact[a] * len(ev.vocab) + contact[b], -1)))

    s, d = np.concatenate(src), np.concatenate(dst)
    graph = coo_matrix((np.ones(len(s), np.int8), (s, d)), shape=(n, n)).tocsr()
    _, labels = connected_components(graph, directed=False)
    # Renumber components by their first anchor, so numbering is deterministic for equal input.
    _, comp = np.unique(labels, return_inverse=True)
    comp_of = np.append(comp, -1)  # node -> component, -1 -> -1

    # Rule 4: attach the other records, step by step; a record keeps the first step that attaches it.
    component = np.full(ev.n_rec, -1, np.int64)  # per record number
    rule = np.zeros(ev.n_rec, np.int8)  # per record number: index into RULES

    def fill(rec: np.ndarray, comps: np.ndarray, name: str):
        found = comps >= 0
        first = _first(rec[found], comps[found], ev.n_rec)[:-1]
        todo = (component < 0) & (first >= 0)
        component[todo] = first[todo]
        rule[todo] = list(RULES).index(name)

    other = ~np.logical_or.reduce([ev.rows(e) for e in ANCHOR_ENTITIES])
    m = ev.rows(ORDERS, "customer_id")
    fill(ev.rec[m], comp_of[order_node[ev.rid[m]]], "customer_id")
    for kind, node_of in (("member", mnode), ("order", order_node)):
        m = ev.rows(kind=kind) & other
        fill(ev.rec[m], comp_of[node_of[ev.token[m]]], kind)
    cands = []
    for kind in CONTACT_KINDS:
        m = ev.rows(kind=kind) & other
        cands.append(_candidates(ev.rec[m], ev.token[m], _token_components(contact[kind], comp_of)))
    fill(*_unique_component(pd.concat(cands)), "contact_unique")

    if weak_evidence:
        review = ev.rows(REVIEWS)
        attached = review & ev.rows(kind="nickname") & (component[ev.rec] >= 0)
        nick_comp = pd.DataFrame({"token": ev.token[attached],
                                  "comp": component[ev.rec[attached]]}).drop_duplicates()
        masked_comp = _token_components(contact["phone_masked"], comp_of)
        pending = review & (component[ev.rec] < 0)
        sets = []
        for kind, lookup in (("nickname", nick_comp), ("phone_masked", masked_comp)):
            m = pending & ev.rows(kind=kind)
            sets.append(_candidates(ev.rec[m], ev.token[m], lookup).drop_duplicates().assign(kind=kind))
        cands = pd.concat(sets)
        if len(cands):
            # Intersect the non-empty candidate sets of the two kinds.
            n_kinds = cands.groupby("rec")["kind"].transform("nunique")
            hits = cands.groupby(["rec", "comp"])["kind"].transform("nunique")
            fill(*_unique_component(cands[hits == n_kinds]), "weak_unique")

    return _output(ev, comp, component, rule, other)


def _output(ev: _Coded, comp: np.ndarray, component: np.ndarray, rule: np.ndarray,
            other: np.ndarray) -> pd.DataFrame:
    """The result frame: anchors (customers, members) in node order, then the other records in order of
    first appearance; codes turned back into strings here only."""
    n_c = len(ev.cust_codes)
    first_row = np.flatnonzero(~pd.Series(ev.rec).duplicated().to_numpy())  # per record number
    recs = np.flatnonzero(other[first_row])
    rows = first_row[recs]
    records = pd.DataFrame({"entity": ev.entity_names.take(ev.entity[rows]),
                            "record_id": ev.vocab.take(ev.rid[rows]),
                            "component": np.where(component[recs] >= 0, component[recs], np.nan),
                            "match_rule": pd.Series(RULES[rule[recs]], dtype=object), "is_anchor": False})
    out = [pd.DataFrame({"entity": CUSTOMERS, "record_id": ev.vocab.take(ev.cust_codes), "component": comp[:n_c],
                         "match_rule": "anchor", "is_anchor": True}),
           pd.DataFrame({"entity": MEMBERS, "record_id": ev.vocab.take(ev.member_codes), "component": comp[n_c:],
                         "match_rule": "anchor", "is_anchor": True}),
           records]
    result = pd.concat(out, ignore_index=True)
    result["component"] = result["component"].astype("Int64")
    return result[RESOLUTION_COLUMNS]


KEY_MAP_COLUMNS = ["anchor_entity", "anchor_id", "customer_key", "previous_key", "reason", "run_seq"]


def assign_keys(resolution: pd.DataFrame, history: pd.DataFrame | None) -> pd.DataFrame:
    """New rows for the append-only key map, given this run's anchors and the map so far.

    The map holds, per anchor record (CRM customer or member), every key it was given
    (``run_seq`` grows per run); its current key is its latest row. Per component of this run:

    - no anchor has a key yet: a new key (max key ever + 1, in order of the component's first anchor);
    - anchors hold one or more keys: the **oldest** (smallest) key wins; anchors that held another key
      get a row with reason ``merged`` and ``previous_key`` = their old key (the alias);
    - a key claimed by two components (a component split): the component holding most of its anchors
      keeps it, the other gets a new key (reason ``split``).

    Only changes are returned, so an unchanged graph appends nothing.
    """
    anchors = _anchors(resolution).rename(columns={"entity": "anchor_entity", "record_id": "anchor_id"})
    if history is not None and len(history):
        current = current_keys(history).rename(columns={"customer_key": "current_key"})
        max_key, run_seq = int(history.customer_key.max()), int(history.run_seq.max()) + 1
    else:
        current = pd.DataFrame({"anchor_entity": pd.Series(dtype=str), "anchor_id": pd.Series(dtype=str),
                                "current_key": pd.Series(dtype="Int64")})
        max_key, run_seq = 0, 1
    df = anchors.merge(current, on=["anchor_entity", "anchor_id"], how="left")
    df["current_key"] = df["current_key"].astype("Int64")
    df["sort_id"] = df.anchor_entity + ":" + df.anchor_id
    first = df.groupby("component")["sort_id"].min()
    held = df.dropna(subset=["current_key"])
    claim = held.groupby("component")["current_key"].min().rename("key")
    # How many of the key's anchors each claiming component holds; the strongest claim keeps the key.
    on_claim = held[held.current_key.to_numpy() == claim.reindex(held.component).to_numpy()]
    support = on_claim.groupby("component").size().rename("support")
    claims = pd.DataFrame({"key": claim}).join(support).join(first.rename("first"))
    claims = claims.sort_values(["key", "support", "first"], ascending=[True, False, True])
    winners = claims[~claims.key.duplicated()]
    key_of = winners.key.astype("int64")
    losers = claims.index.difference(winners.index)
    fresh = first.drop(index=key_of.index).sort_values()
    new_keys = pd.Series(np.arange(max_key + 1, max_key + 1 + len(fresh), dtype=np.int64), index=fresh.index)
    resolved = pd.concat([key_of, new_keys])
    df["customer_key"] = resolved.reindex(df.component).to_numpy()
    changed = df[df.current_key.isna() | (df.current_key.astype("float") != df.customer_key.astype("float"))].copy()
    changed["previous_key"] = changed.current_key
    changed["reason"] = np.where(changed.current_key.isna(), "new",
                                 np.where(changed.component.isin(losers), "split", "merged"))
    changed["run_seq"] = run_seq
    changed["customer_key"] = changed.customer_key.astype("int64")
    changed["previous_key"] = changed.previous_key.astype("Int64")
    return changed[KEY_MAP_COLUMNS].reset_index(drop=True)


def current_keys(history: pd.DataFrame) -> pd.DataFrame:
    """Latest key per anchor of a key map."""
    h = history[["anchor_entity", "anchor_id", "customer_key", "run_seq"]].sort_values("run_seq", kind="stable")
    h = h.drop_duplicates(["anchor_entity", "anchor_id"], keep="last")
    return h[["anchor_entity", "anchor_id", "customer_key"]].reset_index(drop=True)


def _anchors(resolution: pd.DataFrame) -> pd.DataFrame:
    """(entity, record_id, component) of the anchor rows (columns picked first: the others are wide)."""
    return resolution[["entity", "record_id", "component"]][resolution.is_anchor.astype(bool).to_numpy()]


def record_keys(resolution: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """customer_key per record (as the dbt model int_identity__record_keys computes it in SQL)."""
    cur = current_keys(history)
    anchors = _anchors(resolution).merge(cur, left_on=["entity", "record_id"], right_on=["anchor_entity", "anchor_id"])
    key_of_comp = anchors.groupby("component")["customer_key"].min()
    out = resolution.copy()
    out["customer_key"] = key_of_comp.reindex(out.component).to_numpy()
    return out
