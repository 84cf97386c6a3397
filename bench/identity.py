"""Identity resolution benchmark: pairwise precision/recall against the simulator's truth, and time.

    .venv/bin/python bench/identity.py                 # 20k quality + timing at 20k, 200k, 1M
    .venv/bin/python bench/identity.py --sizes 20000   # quick

The evidence table (``entity, record_id, kind, token``, what ``int_identity__evidence`` holds) is
built straight from the simulator's World without the HTTP path: every visible record is built by the
World, and each identifier is turned into a token with the real ``Tokenizer`` (normalization + HMAC),
exactly as the privacy gate does; member ids become member tokens as in ``masked.crm_members``. It is
written into a fresh DuckDB warehouse as ``intermediate.int_identity__evidence``, then dbt builds the real
SQL models ``int_identity__resolution`` (graph, connected components, attachments) and
``int_identity__key_map`` (first run, empty map) on it, plus ``int_identity__record_keys`` for scoring.
Timed: the two models' execution time as dbt reports it (run_results.json), and the whole dbt call
(parse and start-up included); building the World, tokenizing and loading the evidence are not.

Pairwise figures: over records with a known person (truth ``person_id >= 0``) that carry at least one
identifier token; a pair is "same person" in truth, and predicted when both records got the same
non-null customer_key. Records with no identifier (anonymous) are counted and reported separately.

Recall ceiling: the recall any resolver could reach with shared identifiers only. Per person, a graph over
the person's scored records joins two records that carry the same value of an identifier class (phone,
e-mail, handle, nickname, masked phone, WeChat id, member, and the hard keys: a ``customer_id`` token
equals a CRM customer's own id, a ``member`` token a member's own record id, an ``order`` token an order's
own id); the ceiling counts the truth pairs inside its connected pieces. ``recall / ceiling`` is then
tp / ceiling pairs: how much of what is linkable at all the rules link. Names are no class: a shared name
alone links nobody. Not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scipy.sparse import coo_matrix  # noqa: E402
from scipy.sparse.csgraph import connected_components  # noqa: E402

import duckdb  # noqa: E402

from cem_pipeline.privacy import Tokenizer  # noqa: E402
from cem_pipeline.simulator.world import World  # noqa: E402

KEY = "bench-key-0123456789abcdef0123456789abcdef"
ROOT = Path(__file__).resolve().parent.parent
DBT = str(Path(sys.executable).with_name("dbt"))
TIMED = ("int_identity__resolution", "int_identity__key_map")
# entity -> [(source field, evidence kind, tokenizer role or None for a plain id)]
FIELDS = {
    "crm_customers": [("customer_id", "customer_id", None), ("name", "name", "name"), ("phone", "phone", "phone"),
                      ("phone", "phone_masked", "masked_phone"), ("email", "email", "email"),
                      ("weibo_handle", "handle", "social_handle")],
    "crm_members": [("customer_id", "customer_id", None), ("wechat_union_id", "wechat", "wechat_id")],
    "crm_orders": [("order_id", "order", None), ("customer_id", "customer_id", None),
                   ("member_id", "member", "member_id")],
    "reviews": [("order_id", "order", None), ("nickname", "nickname", "nickname"),
                ("buyer_phone_masked", "phone_masked", "masked_phone")],
    "social_posts": [("handle", "handle", "social_handle")],
    "calls": [("caller_phone", "phone", "phone"), ("member_id", "member", "member_id")],
    "surveys": [("member_id", "member", "member_id"), ("phone", "phone", "phone"), ("email", "email", "email"),
                ("order_id", "order", None)],
}
# Recall ceiling: evidence kind -> identifier class; entity -> the class its own record id belongs to.
CEILING_CLASS = {"phone": "phone", "email": "email", "handle": "handle", "nickname": "nickname",
                 "phone_masked": "phone_masked", "wechat": "wechat", "customer_id": "customer_id",
                 "member": "member", "order": "order"}
OWN_ID_CLASS = {"crm_customers": "customer_id", "crm_members": "member", "crm_orders": "order"}
ID_FIELD = {"crm_customers": "customer_id", "crm_members": "member_id", "crm_orders": "order_id",
            "reviews": "review_id", "social_posts": "post_id", "calls": "call_id", "surveys": "response_id"}


def masked_phone_of(value: str | None) -> str | None:
    from cem_pipeline.privacy.masks import mask_phone
    return mask_phone(value) if value else None


def world_evidence(world: World, now: int, tokenizer: Tokenizer, chunk: int = 50_000):
    """(evidence, records): the evidence table and one row per record with its truth person. The evidence
    has one more column, ``record_no``: the row of ``records`` it belongs to (for scoring; ``resolve``
    reads only the four evidence columns)."""
    ev_parts, rec_parts = [], []
    n_records = 0
    for entity, fields in FIELDS.items():
        table = world.tables[entity]
        idx, _, is_v2 = table.visible_current(now)
        for lo in range(0, len(idx), chunk):
            rows = table.build(idx[lo:lo + chunk], is_v2[lo:lo + chunk])
            ent, rid, kind, tok, rno = [], [], [], [], []
            own = []
            for i, r in enumerate(rows):
                rec_id = r[ID_FIELD[entity]]
                if entity == "crm_members":
                    rec_id = tokenizer.token("member_id", rec_id)
                own.append(rec_id)
                for src, k, role in fields:
                    v = r.get(src)
                    if v is None:
                        continue
                    if role == "masked_phone" and entity == "crm_customers":
                        v = masked_phone_of(v)
                    t = v if role is None else tokenizer.token(role, v)
                    if t is None:
                        continue
                    ent.append(entity), rid.append(rec_id), kind.append(k), tok.append(t), rno.append(n_records + i)
                if entity in ("crm_orders", "crm_customers"):
                    pass
            n_records += len(rows)
            ev_parts.append(pd.DataFrame({"entity": ent, "record_id": rid, "kind": kind, "token": tok,
                                          "record_no": rno}))
            rec_parts.append(pd.DataFrame({"entity": entity, "record_id": own,
                                           "person_id": table.person[idx[lo:lo + chunk]]}))
    # Every anchor must appear even without identifiers: add its own id row.
    records = pd.concat(rec_parts, ignore_index=True)
    anchors = records[records.entity == "crm_customers"]
    own = pd.DataFrame({"entity": "crm_customers", "record_id": anchors.record_id, "kind": "self",
                        "token": anchors.record_id, "record_no": anchors.index})
    members = records[records.entity == "crm_members"]
    own_m = pd.DataFrame({"entity": "crm_members", "record_id": members.record_id, "kind": "self",
                          "token": members.record_id, "record_no": members.index})
    evidence = pd.concat(ev_parts + [own, own_m], ignore_index=True)
    return evidence, records


def pairs(sizes: pd.Series) -> int:
    s = sizes.to_numpy(dtype=np.int64)
    return int((s * (s - 1) // 2).sum())


def pairwise(records: pd.DataFrame) -> dict:
    """records: person_id, customer_key (NaN = unmatched)."""
    truth = pairs(records.groupby("person_id").size())
    keyed = records.dropna(subset=["customer_key"])
    predicted = pairs(keyed.groupby("customer_key").size())
    tp = pairs(keyed.groupby(["person_id", "customer_key"]).size())
    return {"true_pairs": truth, "predicted_pairs": predicted, "tp": tp,
            "precision": tp / predicted if predicted else 1.0, "recall": tp / truth if truth else 1.0}


def ceiling_pairs(evidence: pd.DataFrame, records: pd.DataFrame, scored: np.ndarray) -> int:
    """Truth pairs linkable by shared identifiers only (see the module docstring); ``scored``: a mask over
    ``records``. Vectorised: the graphs of all persons are one sparse graph over records and
    (person, class, value) nodes; values (tokens and own ids) are factorized once."""
    classes = sorted(set(CEILING_CLASS.values()))
    kind_code, kinds = pd.factorize(evidence.kind)
    cls = np.array([classes.index(CEILING_CLASS[k]) if k in CEILING_CLASS else -1 for k in kinds] + [-1])[kind_code]
    rec = evidence.record_no.to_numpy()
    keep = (cls >= 0) & evidence.token.notna().to_numpy() & scored[rec]
    entity_code, entities = pd.factorize(records.entity)
    own_cls = np.array([classes.index(OWN_ID_CLASS[e]) if e in OWN_ID_CLASS else -1 for e in entities])[entity_code]
    own = np.flatnonzero((own_cls >= 0) & scored)
    # Links (record, value): the class-tagged tokens of scored records, and their own ids.
    value = pd.factorize(pd.concat([records.record_id.iloc[own], evidence.token[keep]], ignore_index=True))[0]
    link_rec = np.concatenate([own, rec[keep]])
    link_value = value.astype(np.int64) * len(classes) + np.concatenate([own_cls[own], cls[keep]])
    person = records.person_id.to_numpy().astype(np.int64)[link_rec]
    group = pd.factorize(person * (link_value.max() + 1) + link_value)[0] if len(link_rec) else link_rec
    n = len(records) + (group.max() + 1 if len(group) else 0)
    graph = coo_matrix((np.ones(len(group), np.int8), (link_rec, len(records) + group)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return pairs(pd.Series(np.bincount(labels[:len(records)][scored])))


def load_evidence(warehouse: Path, evidence: pd.DataFrame) -> None:
    """Write ``evidence`` as the warehouse's ``intermediate.int_identity__evidence`` (what the dbt model builds)."""
    with duckdb.connect(str(warehouse)) as con:
        con.register("evidence", evidence[["entity", "record_id", "kind", "token"]])
        con.execute("create schema if not exists intermediate")
        con.execute("create or replace table intermediate.int_identity__evidence as select * from evidence")


def run_sql_models(warehouse: Path, dbt_dir: Path, **dbt_vars) -> tuple[dict, float, str]:
    """dbt-build the identity models over the warehouse's evidence, with ``dbt_vars`` (the identity_* vars of
    dbt_project.yml) and dbt's target and logs in ``dbt_dir`` (reused, it saves a re-parse): (seconds per
    model, the whole dbt call, how many rounds the components took). RuntimeError with dbt's output when
    dbt fails."""
    command = [DBT, "run", "--select", *TIMED, "int_identity__record_keys", "--vars", json.dumps(dbt_vars),
               "--project-dir", str(ROOT / "dbt_project"), "--profiles-dir", str(ROOT / "dbt_project"),
               "--target-path", str(dbt_dir / "target"), "--log-path", str(dbt_dir / "logs")]
    env = {**os.environ, "CEM_ENGINE": "duckdb", "CEM_WAREHOUSE_PATH": str(warehouse)}
    t0 = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT / "dbt_project", env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"dbt failed:\n{done.stdout}\n{done.stderr}")
    results = json.loads((dbt_dir / "target" / "run_results.json").read_text())["results"]
    rounds = next((line.split("connected components ")[-1] for line in done.stdout.splitlines()
                   if "connected components converged" in line), "?")
    seconds = {r["unique_id"].split(".")[-1]: r["execution_time"]
               for r in results if r["unique_id"].startswith("model.")}
    return seconds, wall, rounds


def evaluate(world: World, max_anchors: int, weak: bool, evidence: pd.DataFrame, records: pd.DataFrame,
             workdir: Path, ceiling: bool = False) -> dict:
    warehouse = workdir / "identity.duckdb"
    load_evidence(warehouse, evidence)
    model_seconds, dbt_seconds, rounds = run_sql_models(
        warehouse, workdir, identity_max_anchors_per_token=max_anchors, identity_weak_evidence=weak)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        keyed = con.execute("select entity, record_id, customer_key, match_rule, is_anchor "
                            "from intermediate.int_identity__record_keys").df()
    merged = records.merge(keyed[["entity", "record_id", "customer_key", "match_rule"]],
                           on=["entity", "record_id"], how="left")
    assert len(merged) == len(records)  # one row per record, in the order of records (= record_no)
    identified = np.zeros(len(records), bool)
    identified[evidence.record_no.to_numpy()[(evidence.kind != "self").to_numpy()]] = True
    merged["has_identifier"] = identified
    known = merged[merged.person_id >= 0]
    scored = known[known.has_identifier]
    out = pairwise(scored)
    out.update(seconds=sum(model_seconds[m] for m in TIMED), model_seconds=model_seconds, dbt_seconds=dbt_seconds,
               rounds=rounds,
               records=len(merged), known=len(known), scored=len(scored),
               no_identifier=int((~known.has_identifier).sum()),
               unknown_person=int((merged.person_id < 0).sum()),
               scored_unmatched=int(scored.customer_key.isna().sum()),
               customers=int(keyed[keyed.is_anchor].customer_key.nunique()),
               people=world.n_people)
    # Entities where records stay unmatched, for the report.
    out["unmatched_by_entity"] = scored[scored.customer_key.isna()].entity.value_counts().to_dict()
    if ceiling:
        t0 = time.perf_counter()
        out["ceiling_pairs"] = ceiling_pairs(evidence, records, (merged.person_id >= 0).to_numpy() & identified)
        out["ceiling_seconds"] = time.perf_counter() - t0
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="20000,200000,1000000")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--max-anchors", type=int, default=6)
    args = parser.parse_args(argv)
    for n in [int(s) for s in args.sizes.split(",")]:
        t0 = time.perf_counter()
        world = World(seed=args.seed, customers=n)
        now = world.initial_now
        evidence, records = world_evidence(world, now, Tokenizer(KEY))
        print(f"\n== {n:,} people: world + tokens {time.perf_counter() - t0:.1f}s, "
              f"{len(records):,} records, {len(evidence):,} evidence rows", flush=True)
        variants = [(args.max_anchors, True)]
        if n <= 20000:
            variants += [(args.max_anchors, False), (10**9, True)]
        ceiling = None
        for cap, weak in variants:
            with tempfile.TemporaryDirectory(prefix="identity-bench-") as workdir:
                r = evaluate(world, cap, weak, evidence, records, Path(workdir), ceiling=ceiling is None)
            if ceiling is None:
                ceiling = r["ceiling_pairs"]
                print(f"recall ceiling (shared identifiers only): {ceiling:,}/{r['true_pairs']:,} = "
                      f"{ceiling / r['true_pairs']:.5f} ({r['ceiling_seconds']:.1f}s, not timed)", flush=True)
            print(f"cap={cap if cap < 10**9 else 'none'} weak={weak}: SQL resolution+keys {r['seconds']:.2f}s "
                  f"({', '.join(f'{m} {t:.2f}s' for m, t in r['model_seconds'].items())}; "
                  f"dbt call {r['dbt_seconds']:.1f}s; {r['rounds']}) | "
                  f"precision {r['tp']:,}/{r['predicted_pairs']:,} = {r['precision']:.5f} | "
                  f"recall {r['tp']:,}/{r['true_pairs']:,} = {r['recall']:.5f} | "
                  f"ceiling {ceiling / r['true_pairs']:.5f}, recall/ceiling {r['tp']:,}/{ceiling:,} = "
                  f"{r['tp'] / ceiling:.5f} | "
                  f"scored {r['scored']:,} of {r['known']:,} known-person records "
                  f"({r['no_identifier']:,} without identifier; {r['unknown_person']:,} with no person) | "
                  f"unmatched scored {r['scored_unmatched']:,} {r['unmatched_by_entity']} | "
                  f"customer_keys {r['customers']:,}", flush=True)


if __name__ == "__main__":
    main()
