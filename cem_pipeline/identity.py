"""Identity resolution: from identifier tokens on every record to one stable ``customer_key``.

Pure pandas/numpy/scipy; the dbt Python models ``int_identity__resolution`` and
``int_identity__key_map`` call these functions, and so does ``bench/identity.py``.

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

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

CUSTOMERS, MEMBERS = "crm_customers", "crm_members"
ANCHOR_ENTITIES = (CUSTOMERS, MEMBERS)
CONTACT_KINDS = ("phone", "email", "handle")
DEFAULT_MAX_ANCHORS_PER_TOKEN = 6
RESOLUTION_COLUMNS = ["entity", "record_id", "component", "match_rule", "is_anchor"]


def _star_edges(nodes: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges joining every node of a group to the group's first node."""
    if len(nodes) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    frame = pd.DataFrame({"n": nodes, "g": groups})
    first = frame.groupby("g", sort=False)["n"].transform("first").to_numpy()
    keep = first != frame["n"].to_numpy()
    return frame["n"].to_numpy()[keep], first[keep]


def _unique_component(frame: pd.DataFrame, key: str = "rid") -> pd.Series:
    """``frame`` has columns (key, component): the component per key where there is exactly one."""
    frame = frame.dropna(subset=["component"]).drop_duplicates([key, "component"])
    counts = frame.groupby(key)["component"].transform("size")
    one = frame[counts == 1]
    return pd.Series(one["component"].to_numpy(), index=one[key].to_numpy())


def resolve(evidence: pd.DataFrame, max_anchors_per_token: int = DEFAULT_MAX_ANCHORS_PER_TOKEN,
            weak_evidence: bool = True) -> pd.DataFrame:
    """Resolve every record of ``evidence`` to a run-local component (NaN when it matches none).

    Returns ``entity, record_id, component, match_rule, is_anchor``: one row per record; components
    are numbered 0..k-1 and contain at least one anchor (a CRM customer or member).
    """
    ev = evidence.dropna(subset=["record_id", "token"])[["entity", "record_id", "kind", "token"]]
    ev = ev.astype({"entity": str, "record_id": str, "kind": str, "token": str})
    anchors_of = {e: ev[ev.entity == e] for e in ANCHOR_ENTITIES}
    cust_ids = pd.Index(pd.unique(evidence.loc[evidence.entity == CUSTOMERS, "record_id"].dropna().astype(str)))
    member_ids = pd.Index(pd.unique(evidence.loc[evidence.entity == MEMBERS, "record_id"].dropna().astype(str)))
    n_c, n_m = len(cust_ids), len(member_ids)
    n = n_c + n_m

    def cnode(ids) -> np.ndarray:
        return cust_ids.get_indexer(ids)

    def mnode(tokens) -> np.ndarray:
        idx = member_ids.get_indexer(tokens)
        return np.where(idx >= 0, idx + n_c, -1)

    # Contact tokens on anchors, and which of them are too common to be evidence (rule 3).
    cust = anchors_of[CUSTOMERS]
    wide = cust[cust.kind.isin(("name", "phone", "email", "handle", "phone_masked"))] \
        .drop_duplicates(["record_id", "kind"]).pivot(index="record_id", columns="kind", values="token")
    wide = wide.reindex(columns=["name", "phone", "email", "handle", "phone_masked"]).astype(object)
    wide["node"] = cnode(wide.index)
    mem = anchors_of[MEMBERS]
    wechat = mem[mem.kind == "wechat"].drop_duplicates(["record_id"])
    common: dict[str, set] = {}
    for kind in CONTACT_KINDS:
        counts = wide[kind].value_counts()
        common[kind] = set(counts.index[counts > max_anchors_per_token])
    wc = wechat.token.value_counts()
    common["wechat"] = set(wc.index[wc > max_anchors_per_token])
    for kind in CONTACT_KINDS:
        wide.loc[wide[kind].isin(common[kind]), kind] = np.nan

    src, dst = [], []

    def add(a, b):
        a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
        ok = (a >= 0) & (b >= 0)
        src.append(a[ok])
        dst.append(b[ok])

    # Rule 1: hard links.
    mc = mem[mem.kind == "customer_id"]
    add(mnode(mc.record_id), cnode(mc.token))
    orders = ev[ev.entity == "crm_orders"]
    o_cust = orders[orders.kind == "customer_id"].drop_duplicates("record_id").set_index("record_id")["token"]
    o_mem = orders[orders.kind == "member"].drop_duplicates("record_id").set_index("record_id")["token"]
    both = o_cust.index.intersection(o_mem.index)
    add(cnode(o_cust.loc[both]), mnode(o_mem.loc[both]))
    order_node = pd.Series(cnode(o_cust), index=o_cust.index)
    no_cust = o_mem.index.difference(order_node.index[order_node.to_numpy() >= 0])
    order_node = pd.concat([order_node[order_node >= 0], pd.Series(mnode(o_mem.loc[no_cust]), index=no_cust)])
    order_node = order_node[order_node >= 0]
    order_node = order_node[~order_node.index.duplicated()]
    surveys = ev[ev.entity == "surveys"]
    s_mem = surveys[surveys.kind == "member"].drop_duplicates("record_id").set_index("record_id")["token"]
    s_ord = surveys[surveys.kind == "order"].drop_duplicates("record_id").set_index("record_id")["token"]
    both = s_mem.index.intersection(s_ord.index)
    add(mnode(s_mem.loc[both]), order_node.reindex(s_ord.loc[both]).fillna(-1).to_numpy())
    w = wechat[~wechat.token.isin(common["wechat"])]
    add(*_star_edges(mnode(w.record_id), w.token.to_numpy()))
    h = wide.dropna(subset=["handle"])
    add(*_star_edges(h.node.to_numpy(), h.handle.to_numpy()))
    # Rule 2: two agreeing identifiers.
    for a, b in (("name", "phone"), ("name", "email"), ("phone", "email")):
        pair = wide.dropna(subset=[a, b])
        add(*_star_edges(pair.node.to_numpy(), (pair[a] + "|" + pair[b]).to_numpy()))

    s, d = np.concatenate(src) if src else np.empty(0, np.int64), np.concatenate(dst) if dst else np.empty(0, np.int64)
    graph = coo_matrix((np.ones(len(s), np.int8), (s, d)), shape=(n, n)).tocsr()
    _, labels = connected_components(graph, directed=False)
    # Renumber components by their first anchor, so numbering is deterministic for equal input.
    _, comp = np.unique(labels, return_inverse=True)

    out = [pd.DataFrame({"entity": CUSTOMERS, "record_id": cust_ids, "component": comp[:n_c],
                         "match_rule": "anchor", "is_anchor": True}),
           pd.DataFrame({"entity": MEMBERS, "record_id": member_ids, "component": comp[n_c:],
                         "match_rule": "anchor", "is_anchor": True})]

    # Rule 4: attach the other records.
    comp_of_member = pd.Series(comp[n_c:], index=member_ids)
    comp_of_order = pd.Series(comp[order_node.to_numpy()], index=order_node.index)
    contact_comp = {}
    for kind in CONTACT_KINDS:
        c = wide.dropna(subset=[kind])
        contact_comp[kind] = pd.DataFrame({"token": c[kind].astype(str).to_numpy(),
                                           "component": comp[c.node.to_numpy()]}).drop_duplicates()
    others = ev[~ev.entity.isin(ANCHOR_ENTITIES)].copy()
    others["rid"] = others.entity + "\x1f" + others.record_id
    records = others.drop_duplicates("rid")[["rid", "entity", "record_id"]].set_index("rid")
    records["component"] = np.nan
    records["match_rule"] = None

    def fill(values: pd.Series, rule: str):
        values = values.dropna()
        values = values[~values.index.duplicated()]
        todo = records.index[records.component.isna()].intersection(values.index)
        records.loc[todo, "component"] = values.loc[todo].to_numpy()
        records.loc[todo, "match_rule"] = rule

    oc = others[(others.kind == "customer_id") & (others.entity == "crm_orders")]
    fill(pd.Series(comp_of_order.reindex(oc.record_id).to_numpy(), index=oc.rid.to_numpy()), "customer_id")
    for kind, lookup in (("member", comp_of_member), ("order", comp_of_order)):
        k = others[others.kind == kind]
        fill(pd.Series(lookup.reindex(k.token).to_numpy(), index=k.rid.to_numpy()), kind)
    cand = []
    for kind in CONTACT_KINDS:
        k = others[others.kind == kind][["rid", "token"]].merge(contact_comp[kind], on="token")
        cand.append(k[["rid", "component"]])
    fill(_unique_component(pd.concat(cand)), "contact_unique")

    if weak_evidence:
        rv = others[others.entity == "reviews"]
        attached = records[records.entity == "reviews"].dropna(subset=["component"])
        nick = rv[rv.kind == "nickname"]
        nick_comp = nick[nick.rid.isin(attached.index)][["token"]].assign(
            component=attached.component.reindex(nick[nick.rid.isin(attached.index)].rid).to_numpy()).drop_duplicates()
        masked = wide.dropna(subset=["phone_masked"])
        masked_comp = pd.DataFrame({"token": masked.phone_masked.astype(str).to_numpy(),
                                    "component": comp[masked.node.to_numpy()]}).drop_duplicates()
        pending = set(records.index[(records.entity == "reviews") & records.component.isna()])
        sets = []
        for kind, lookup in (("nickname", nick_comp), ("phone_masked", masked_comp)):
            k = rv[(rv.kind == kind) & rv.rid.isin(pending)][["rid", "token"]].merge(lookup, on="token")
            sets.append(k[["rid", "component"]].drop_duplicates().assign(kind=kind))
        cands = pd.concat(sets)
        if len(cands):
            # Intersect the non-empty candidate sets of the two kinds.
            n_kinds = cands.groupby("rid")["kind"].transform("nunique")
            hits = cands.groupby(["rid", "component"])["kind"].transform("nunique")
            keep = cands[hits == n_kinds]
            fill(_unique_component(keep), "weak_unique")

    records = records.reset_index(drop=True)
    records["is_anchor"] = False
    result = pd.concat(out + [records[["entity", "record_id", "component", "match_rule", "is_anchor"]]],
                       ignore_index=True)
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
    anchors = resolution[resolution.is_anchor.astype(bool)][["entity", "record_id", "component"]]
    anchors = anchors.rename(columns={"entity": "anchor_entity", "record_id": "anchor_id"})
    if history is not None and len(history):
        h = history.sort_values("run_seq", kind="stable").drop_duplicates(["anchor_entity", "anchor_id"], keep="last")
        current = h[["anchor_entity", "anchor_id", "customer_key"]].rename(columns={"customer_key": "current_key"})
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
    h = history.sort_values("run_seq", kind="stable").drop_duplicates(["anchor_entity", "anchor_id"], keep="last")
    return h[["anchor_entity", "anchor_id", "customer_key"]].reset_index(drop=True)


def record_keys(resolution: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """customer_key per record (as the dbt model int_identity__record_keys computes it in SQL)."""
    cur = current_keys(history)
    anchors = resolution[resolution.is_anchor.astype(bool)].merge(
        cur, left_on=["entity", "record_id"], right_on=["anchor_entity", "anchor_id"])
    key_of_comp = anchors.groupby("component")["customer_key"].min()
    out = resolution.copy()
    out["customer_key"] = key_of_comp.reindex(out.component).to_numpy()
    return out
