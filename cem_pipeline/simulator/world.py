"""The simulated company: people, their CRM records, orders and feedback, and the truth about them.

Everything is generated once, column-wise with numpy, deterministically from a seed; records are
built lazily per page. Each record has at most two versions (v1 at ``t1``; an update at ``t2``);
the simulator's clock ``now`` decides what is visible: a record appears once ``t1 <= now`` and shows
its v2 once ``t2 <= now``. ``updated_at`` is the system modification time, the paging cursor; it
only grows, while business times (``responded_at``...) may arrive late.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from cem_pipeline.simulator import experience as X
from cem_pipeline.simulator import names as V
from cem_pipeline.simulator import outcomes as O
from cem_pipeline.simulator.corpus import NEG, NEU, POS, Corpus

TZ = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 9, 1, tzinfo=TZ)
NEVER = np.iinfo(np.int64).max
HOUR, DAY = 3600, 86400

PHONE_PREFIXES = np.array([130, 131, 132, 135, 136, 137, 138, 139, 150, 151, 152, 158, 159, 180, 186, 188])
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def iso(ts: int) -> str:
    return dt.datetime.fromtimestamp(int(ts), TZ).isoformat()


def local_day(ts: np.ndarray) -> np.ndarray:
    """Calendar day in UTC+8 of epoch seconds."""
    return ((ts + 8 * HOUR) // DAY * DAY - 8 * HOUR)


def format_phone(number: int, style: int) -> str:
    """One person's mobile number written the ways real systems write it."""
    s = str(number)
    a, b, c = s[:3], s[3:7], s[7:]
    return [
        s, f"{a} {b} {c}", f"+86-{a}-{b}-{c}", f"0086 {s}", f"+86 {a}-{b}-{c}",
        s.translate(FULLWIDTH), f"(+86){s}", f"{a}-{b}-{c}",
    ][style % 8]


def format_email(email: str, style: int) -> str:
    return [email, email.upper(), f" {email} ", email.capitalize()][style % 4]


def masked_phone(number: int) -> str:
    s = str(number)
    return f"{s[:3]}****{s[7:]}"


def _choice(rng, options, size):
    labels = [o[0] for o in options]
    probs = np.array([o[1] for o in options], dtype=float)
    return np.array(labels, dtype=object)[rng.choice(len(labels), size=size, p=probs / probs.sum())]


@dataclass
class Table:
    """One entity's records as columns, plus how to build a record dict from them."""

    name: str
    n: int
    t1: np.ndarray
    t2: np.ndarray
    person: np.ndarray  # truth: person index behind the record, -1 if nobody known
    build: Callable[[np.ndarray, np.ndarray], list[dict]]  # (indices, is_v2) -> records
    ids: np.ndarray = field(default=None)

    def visible_current(self, now: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Indices visible at ``now``, their current updated_at, and whether that is v2."""
        idx = np.flatnonzero(self.t1 <= now)
        is_v2 = self.t2[idx] <= now
        cur = np.where(is_v2, self.t2[idx], self.t1[idx])
        return idx, cur, is_v2


class World:
    def __init__(self, seed: int = 7, customers: int = 2000, days: int = 30, future_days: int = 14,
                 corpus: Corpus | None = None, drops: bool = True):
        if customers < 10:
            raise ValueError("customers must be at least 10")
        self.seed, self.n_people, self.days = seed, customers, days
        self.drops = X.DROPS if drops else ()  # the control world (drops=False) has none
        self.start = int(START.timestamp())
        self.initial_now = self.start + days * DAY
        self.end = self.initial_now + future_days * DAY
        self.corpus = corpus or Corpus()
        seeds = np.random.SeedSequence(seed).spawn(13)  # the first 12 as before 13 were spawned
        self._rngs = [np.random.default_rng(s) for s in seeds]
        self.planted_text_pii: list[tuple[str, str, int]] = []  # (kind, value, person)
        self._people(self._rngs[0])
        self.tables: dict[str, Table] = {}
        self._stores(self._rngs[1])
        self._customers(self._rngs[2])
        self._members(self._rngs[3])
        self._orders(self._rngs[4])
        self._reviews(self._rngs[5])
        self._social(self._rngs[6])
        self._calls(self._rngs[7])
        self._surveys(self._rngs[8])
        self._outcome_orders(self._rngs[12])

    # ---------------------------------------------------------------- people
    def _people(self, rng):
        n = self.n_people
        self.lang = np.where(rng.random(n) < 0.6, "zh", "en").astype(object)
        self.surname = rng.integers(0, len(V.ZH_SURNAMES), n)
        self.given = rng.integers(0, len(V.ZH_GIVEN), (n, 2))
        self.given_len = rng.integers(1, 3, n)
        self.first = rng.integers(0, len(V.EN_FIRST), n)
        self.last = rng.integers(0, len(V.EN_LAST), n)
        self.gender = np.where(rng.random(n) < 0.52, "F", "M").astype(object)
        # Unique mobile numbers: a random permutation slice of an 8-digit space per prefix.
        suffix = rng.choice(10**8, size=n, replace=False)
        self.phone = PHONE_PREFIXES[rng.integers(0, len(PHONE_PREFIXES), n)].astype(np.int64) * 10**8 + suffix
        self.has_phone = rng.random(n) >= 0.06
        # Families: some people carry a relative's phone (the same number, different people).
        family = np.flatnonzero(rng.random(n) < 0.03)
        family = family[family > 0]
        self.phone[family] = self.phone[family - 1]
        self.has_phone[family] = self.has_phone[family - 1] | True
        self.has_email = rng.random(n) >= 0.15
        no_contact = rng.random(n) < 0.04
        self.has_phone &= ~no_contact
        self.has_email &= ~no_contact
        local = np.where(self.lang == "zh",
                         np.array(V.ZH_PINYIN, dtype=object)[self.surname % len(V.ZH_PINYIN)],
                         np.array([f.lower() for f in V.EN_FIRST], dtype=object)[self.first])
        domain = np.array(V.EMAIL_DOMAINS, dtype=object)[rng.integers(0, len(V.EMAIL_DOMAINS), n)]
        self.email = np.array([f"{l}.{i:06d}@{d}" for i, (l, d) in enumerate(zip(local, domain))], dtype=object)
        shop = rng.random(n) < 0.004  # a shop's e-mail on many unrelated accounts
        self.email[shop] = V.SHARED_SHOP_EMAIL
        self.has_email[shop] = True
        self.has_wechat = (self.lang == "zh") & (rng.random(n) < 0.7)
        self.wechat = np.array([f"oWx{hashlib.blake2b(f'{self.seed}:{i}'.encode(), digest_size=9).hexdigest()}"
                                for i in range(n)], dtype=object)
        self.has_handle = rng.random(n) < 0.3
        self.handle_in_crm = self.has_handle & (rng.random(n) < 0.6)
        self.city = rng.choice(len(V.CITIES), size=n, p=self._city_weights())
        self.tier = _choice(rng, V.TIERS, n)
        self.is_member = rng.random(n) < 0.85
        self.birth_year = rng.integers(1960, 2006, n)
        self.created = self.start - rng.integers(0, 365 * DAY, n)
        late_joiners = rng.random(n) < 0.08  # some sign up during the window
        self.created[late_joiners] = rng.integers(self.start, self.end, late_joiners.sum())
        # Satisfaction propensity per person: some people are simply happier.
        self.mood = rng.normal(0, 1, n)

    def _city_weights(self):
        w = np.array([c[2] for c in V.CITIES], dtype=float)
        return w / w.sum()

    def person_name(self, p: int) -> str:
        if self.lang[p] == "zh":
            given = "".join(V.ZH_GIVEN[g] for g in self.given[p][: self.given_len[p]])
            return V.ZH_SURNAMES[self.surname[p]] + given
        return f"{V.EN_FIRST[self.first[p]]} {V.EN_LAST[self.last[p]]}"

    def handle(self, p: int) -> str:
        base = V.ZH_PINYIN[self.surname[p] % len(V.ZH_PINYIN)] if self.lang[p] == "zh" else V.EN_FIRST[self.first[p]].lower()
        return f"@{base}_{p:06d}"

    def nickname(self, p: int) -> str:
        if self.lang[p] == "zh":
            return f"{V.ZH_GIVEN[self.given[p][0]]}{V.ZH_GIVEN[self.given[p][1]]}爱购物{p % 1000}"
        return f"{V.EN_FIRST[self.first[p]].lower()}_{V.EN_LAST[self.last[p]][0].lower()}{p % 100}"

    # ---------------------------------------------------------------- CRM
    def _stores(self, rng):
        n = int(min(2000, max(20, self.n_people // 500)))
        city = rng.choice(len(V.CITIES), size=n, p=self._city_weights())
        mall = rng.integers(0, len(V.MALLS), n)
        fmt = np.array(V.STORE_FORMATS, dtype=object)[rng.integers(0, len(V.STORE_FORMATS), n)]
        opened = self.start - rng.integers(30 * DAY, 3000 * DAY, n)
        self.store_ids = np.array([f"S{i + 1:04d}" for i in range(n)] + [s[0] for s in V.ONLINE_STORES], dtype=object)
        self.physical_stores = n
        self.store_city = np.concatenate([city, np.full(len(V.ONLINE_STORES), -1)])
        total = n + len(V.ONLINE_STORES)
        t1 = np.concatenate([opened, np.full(len(V.ONLINE_STORES), self.start - 400 * DAY)])

        def build(idx, v2):
            out = []
            for i in idx.tolist():
                if i < n:
                    c = V.CITIES[city[i]]
                    out.append({"store_id": self.store_ids[i], "name": f"{c[0]}{V.MALLS[mall[i]]}店",
                                "city": c[0], "region": c[1], "format": fmt[i], "opened_at": iso(opened[i]),
                                "updated_at": iso(t1[i])})
                else:
                    sid, sname, _ = V.ONLINE_STORES[i - n]
                    out.append({"store_id": sid, "name": sname, "city": None, "region": "线上",
                                "format": "online", "opened_at": iso(t1[i]), "updated_at": iso(t1[i])})
            return out

        self.tables["crm_stores"] = Table("crm_stores", total, t1, np.full(total, NEVER), np.full(total, -1), build,
                                          self.store_ids)

    def _customers(self, rng):
        n = self.n_people
        dup = np.flatnonzero(rng.random(n) < 0.05)  # duplicate registrations of the same person
        person = np.concatenate([np.arange(n), dup])
        total = len(person)
        order = rng.permutation(total)  # ids do not reveal the person
        ids = np.array([f"C{10_000_000 + k:08d}" for k in order], dtype=object)
        t1 = np.concatenate([self.created[:n], np.maximum(self.created[dup] + rng.integers(DAY, 90 * DAY, len(dup)),
                                                           self.created[dup])])
        t2 = np.where(rng.random(total) < 0.10, t1 + rng.integers(DAY, 60 * DAY, total), NEVER)
        phone_style = rng.integers(0, 8, total)
        email_style = np.where(np.arange(total) < n, 0, rng.integers(1, 4, total))
        city2 = rng.choice(len(V.CITIES), size=total, p=self._city_weights())
        self.primary_customer = ids[:n]
        self.customer_person = person
        self.customer_ids = ids

        def build(idx, v2):
            out = []
            for i, upd in zip(idx.tolist(), v2.tolist()):
                p = person[i]
                city = V.CITIES[city2[i] if upd else self.city[p]][0]
                out.append({
                    "customer_id": ids[i], "name": self.person_name(p), "gender": self.gender[p],
                    "phone": format_phone(self.phone[p], phone_style[i]) if self.has_phone[p] else None,
                    "email": format_email(self.email[p], email_style[i]) if self.has_email[p] else None,
                    "weibo_handle": self.handle(p) if self.handle_in_crm[p] else None,
                    "city": city, "birth_year": int(self.birth_year[p]),
                    "preferred_language": self.lang[p], "created_at": iso(t1[i]),
                    "updated_at": iso(t2[i] if upd else t1[i]),
                })
            return out

        self.tables["crm_customers"] = Table("crm_customers", total, t1, t2, person, build, ids)

    def _members(self, rng):
        people = np.flatnonzero(self.is_member)
        total = len(people)
        ids = np.array([f"M{20_000_000 + k:08d}" for k in rng.permutation(total)], dtype=object)
        self.member_of = np.full(self.n_people, None, dtype=object)
        self.member_of[people] = ids
        t1 = self.created[people] + rng.integers(0, 3 * DAY, total)
        t2 = np.where(rng.random(total) < 0.15, t1 + rng.integers(DAY, 60 * DAY, total), NEVER)
        points = rng.integers(0, 20000, total)
        home = rng.integers(0, self.physical_stores, total)
        tier_up = {"bronze": "silver", "silver": "gold", "gold": "platinum", "platinum": "platinum"}
        self.member_people, self.member_t2 = people, t2

        def build(idx, v2):
            out = []
            for i, upd in zip(idx.tolist(), v2.tolist()):
                p = people[i]
                tier = self.tier[p]
                out.append({
                    "member_id": ids[i], "customer_id": self.primary_customer[p],
                    "tier": tier_up[tier] if upd else tier, "points": int(points[i]) + (500 if upd else 0),
                    "wechat_union_id": self.wechat[p] if self.has_wechat[p] else None,
                    "home_store_id": self.store_ids[home[i]], "joined_at": iso(t1[i]),
                    "updated_at": iso(t2[i] if upd else t1[i]),
                })
            return out

        self.tables["crm_members"] = Table("crm_members", total, t1, t2, people, build, ids)

    def _orders(self, rng):
        counts = rng.poisson(2.0, self.n_people)
        person = np.repeat(np.arange(self.n_people), counts)
        total = len(person)
        lo = np.maximum(self.created[person], self.start)
        t1 = lo + (rng.random(total) * np.maximum(self.end - lo, HOUR)).astype(np.int64)
        keep = t1 < self.end
        person, t1 = person[keep], t1[keep]
        order = np.argsort(t1, kind="stable")
        self._order_columns = self._order_attributes(rng, person[order], t1[order], 0)
        self._alt_customer = {self.customer_person[k]: self.customer_ids[k]
                              for k in range(self.n_people, len(self.customer_person))}
        self._set_order_views()
        c = self._order_columns
        self.tables["crm_orders"] = Table("crm_orders", len(c["ids"]), c["t1"], c["t2"], c["person"],
                                          self._build_orders, c["ids"])

    def _order_attributes(self, rng, person, t1, first_number):
        """Everything about orders placed by ``person`` at ``t1`` (sorted): ids numbered from ``first_number``,
        channel, store, product, quantity, status times, which customer record and member id they carry."""
        total = len(person)
        ids = np.array([f"O{t:%Y%m%d}{k:07d}" for t, k in
                        zip((dt.datetime.fromtimestamp(x, TZ) for x in t1.tolist()),
                            range(first_number, first_number + total))], dtype=object)
        channel = _choice(rng, V.ORDER_CHANNELS, total)
        online = {"app": ["ONL-APP"], "web": ["ONL-TMALL", "ONL-JD", "ONL-WEB"], "mini_program": ["ONL-WX"]}
        store = np.empty(total, dtype=object)
        for i in range(total):
            c = channel[i]
            store[i] = (self.store_ids[rng.integers(0, self.physical_stores)] if c == "store"
                        else online[c][rng.integers(0, len(online[c]))])
        product = rng.integers(0, len(V.PRODUCTS), total)
        qty = rng.integers(1, 4, total)
        outcome = rng.random(total)
        t2 = np.where(outcome < 0.85, t1 + rng.integers(HOUR, 5 * DAY, total), NEVER)
        dup_customer = rng.random(total) < 0.3
        with_member = rng.random(total) < 0.7
        return {"person": person, "t1": t1, "t2": t2, "ids": ids, "channel": channel, "store": store,
                "product": product, "qty": qty, "refunded": outcome < 0.05, "dup_customer": dup_customer,
                "with_member": with_member}

    def _set_order_views(self):
        c = self._order_columns
        self.order_ids, self.order_person, self.order_t1 = c["ids"], c["person"], c["t1"]
        self.order_store, self.order_product, self.order_channel = c["store"], c["product"], c["channel"]
        self.order_refunded = c["refunded"]
        self.order_amount = np.array([V.PRODUCTS[k][3] for k in c["product"].tolist()]) * c["qty"]

    def _build_orders(self, idx, v2):
        c = self._order_columns
        platform_of = {s[0]: s[2] for s in V.ONLINE_STORES}
        out = []
        for i, upd in zip(idx.tolist(), v2.tolist()):
            p = c["person"][i]
            pid, pname, cat, price = V.PRODUCTS[c["product"][i]]
            alt = self._alt_customer.get(p)
            cust = alt if c["dup_customer"][i] and alt is not None else self.primary_customer[p]
            st = c["store"][i]
            qty = int(c["qty"][i])
            out.append({
                "order_id": c["ids"][i], "customer_id": cust,
                "member_id": self.member_of[p] if c["with_member"][i] else None,
                "store_id": st, "channel": c["channel"][i], "platform": platform_of.get(st, "pos"),
                "product_id": pid, "product_name": pname, "category": cat, "quantity": qty,
                "amount": round(price * qty, 2), "currency": "CNY",
                "status": ("refunded" if c["refunded"][i] else "delivered") if upd else "paid",
                "ordered_at": iso(c["t1"][i]), "updated_at": iso(c["t2"][i] if upd else c["t1"][i]),
            })
        return out

    def _outcome_orders(self, rng):
        """Orders whose timing carries the planted experience -> outcome effect (simulator/outcomes.py),
        appended to the CRM's orders after the baseline ones (their ids continue the numbering)."""
        self.outcome_segments = O.nps_segments(self)
        person, t1 = O.plant_orders(self, rng)
        base = self._order_columns
        extra = self._order_attributes(rng, person, t1, len(base["ids"]))
        self._order_columns = {k: np.concatenate([base[k], extra[k]]) for k in base}
        self.outcome_order_from = len(base["ids"])
        self._set_order_views()
        c = self._order_columns
        self.tables["crm_orders"] = Table("crm_orders", len(c["ids"]), c["t1"], c["t2"], c["person"],
                                          self._build_orders, c["ids"])

    # ---------------------------------------------------------------- feedback
    def _draw_texts(self, rng, pools, langs, mood, label_mix=(0.25, 0.10, 0.65)):
        """Pick a text index per row from the pool of its language, with a mood-shifted label."""
        n = len(langs)
        text_idx = np.zeros(n, dtype=np.int64)
        labels = np.empty(n, dtype=object)
        u = rng.random(n) + 0.08 * mood  # happier people write more positive texts
        for lang in ("zh", "en"):
            rows = np.flatnonzero(langs == lang)
            pool = pools[lang]
            by_label = {lab: pool.indices(lab) for lab in (NEG, NEU, POS)}
            for r in rows.tolist():
                lab = NEG if u[r] < label_mix[0] else (NEU if u[r] < label_mix[0] + label_mix[1] else POS)
                cands = by_label[lab] if len(by_label[lab]) else by_label[POS if lab == NEU else lab]
                if len(cands) == 0:
                    cands = np.arange(len(pool))
                j = cands[rng.integers(0, len(cands))]
                text_idx[r] = j
                labels[r] = pool.labels[j]
        return text_idx, labels

    def _plant(self, rng, kind_choices, p, lang):
        """A sentence carrying one of the person's identifiers, recorded for the leak test."""
        kind = kind_choices[rng.integers(0, len(kind_choices))]
        if kind == "phone" and self.has_phone[p]:
            value = format_phone(self.phone[p], int(rng.integers(0, 8)))
            text = f"我的电话是{value}，请尽快联系我" if lang == "zh" else f" Call me back at {value} please."
        elif self.has_email[p]:
            kind, value = "email", format_email(self.email[p], int(rng.integers(0, 4))).strip()
            text = f"邮箱{value}" if lang == "zh" else f" My email is {value}."
        else:
            return ""
        self.planted_text_pii.append((kind, value, int(p)))
        return text

    def _reviews(self, rng):
        n_orders = len(self.order_ids)
        pick = np.flatnonzero(rng.random(n_orders) < 0.25)
        person = self.order_person[pick]
        total = len(pick)
        langs = self.lang[person]
        text_idx, labels = self._draw_texts(rng, self.corpus.reviews, langs, self.mood[person])
        t1 = self.order_t1[pick] + rng.integers(DAY, 10 * DAY, total)
        keep = t1 < self.end
        pick, person, langs, text_idx, labels, t1 = (a[keep] for a in (pick, person, langs, text_idx, labels, t1))
        total = len(pick)
        order = np.argsort(t1, kind="stable")
        pick, person, langs, text_idx, labels, t1 = (a[order] for a in (pick, person, langs, text_idx, labels, t1))
        t2 = np.where(rng.random(total) < 0.03, t1 + rng.integers(DAY, 5 * DAY, total), NEVER)
        ids = np.array([f"R{k:09d}" for k in range(total)], dtype=object)
        show_order = rng.random(total) < 0.7
        show_phone = rng.random(total) < 0.5
        platform = np.array([V.REVIEW_PLATFORMS[l][rng.integers(0, len(V.REVIEW_PLATFORMS[l]))] for l in langs],
                            dtype=object)
        stars = np.empty(total, dtype=np.int64)
        planted = np.full(total, "", dtype=object)
        plant_rows = np.flatnonzero(rng.random(total) < 0.03)
        for r in plant_rows.tolist():
            planted[r] = self._plant(rng, ("phone", "email"), person[r], langs[r])
        for r in range(total):
            pool = self.corpus.reviews[langs[r]]
            true_stars = pool.ratings[text_idx[r]]
            lab = labels[r]
            stars[r] = true_stars if true_stars else (rng.integers(4, 6) if lab == POS else 3 if lab == NEU
                                                      else rng.integers(1, 3))
        self.review_labels, self.review_lang = labels, langs
        self.review_stars, self.review_t1, self.review_store = stars, t1, self.order_store[pick]

        def build(idx, v2):
            out = []
            for i, upd in zip(idx.tolist(), v2.tolist()):
                p = person[i]
                o = pick[i]
                lang = langs[i]
                text = self.corpus.reviews[lang].texts[text_idx[i]] + planted[i]
                if upd:
                    text += " 追评：用了一段时间，和描述一致。" if lang == "zh" else " Update: still using it after a month."
                out.append({
                    "review_id": ids[i], "platform": platform[i],
                    "order_id": self.order_ids[o] if show_order[i] else None,
                    "nickname": self.nickname(p),
                    "buyer_phone_masked": masked_phone(self.phone[p]) if show_phone[i] and self.has_phone[p] else None,
                    "product_id": V.PRODUCTS[self.order_product[o]][0], "store_id": self.order_store[o],
                    "rating": int(stars[i]), "text": text, "lang": lang,
                    "created_at": iso(t1[i]), "updated_at": iso(t2[i] if upd else t1[i]),
                })
            return out

        self.tables["reviews"] = Table("reviews", total, t1, t2, person, build, ids)
        self.tables["reviews"].labels = labels
        self.tables["reviews"].langs = langs

    def _social(self, rng):
        n = self.n_people
        linked = np.repeat(np.flatnonzero(self.has_handle), rng.poisson(1.0, self.has_handle.sum()))
        anonymous = np.full(int(n * 0.15), -1)
        person = np.concatenate([linked, anonymous])
        person = person[rng.permutation(len(person))]
        total = len(person)
        langs = np.where(person >= 0, self.lang[np.maximum(person, 0)],
                         np.where(rng.random(total) < 0.6, "zh", "en")).astype(object)
        mood = np.where(person >= 0, self.mood[np.maximum(person, 0)], 0.0)
        text_idx, labels = self._draw_texts(rng, self.corpus.social, langs, mood, (0.30, 0.25, 0.45))
        t1 = np.sort(rng.integers(self.start, self.end, total))
        t2 = np.where(rng.random(total) < 0.05, t1 + rng.integers(HOUR, 3 * DAY, total), NEVER)
        ids = np.array([f"SP{k:09d}" for k in range(total)], dtype=object)
        is_comment = (rng.random(total) < 0.3) & (np.arange(total) > 0)
        parent = np.where(is_comment, (rng.random(total) * np.arange(total)).astype(np.int64), -1)
        platform = np.array([V.SOCIAL_PLATFORMS[l][rng.integers(0, len(V.SOCIAL_PLATFORMS[l]))] for l in langs],
                            dtype=object)
        likes = rng.geometric(0.05, total)
        anon_handle = rng.integers(0, 10**7, total)

        def build(idx, v2):
            out = []
            for i, upd in zip(idx.tolist(), v2.tolist()):
                p = person[i]
                out.append({
                    "post_id": ids[i], "platform": platform[i], "kind": "comment" if is_comment[i] else "post",
                    "parent_post_id": ids[parent[i]] if is_comment[i] else None,
                    "handle": self.handle(p) if p >= 0 else f"@user{anon_handle[i]:07d}",
                    "text": self.corpus.social[langs[i]].texts[text_idx[i]], "lang": langs[i],
                    "likes": int(likes[i]) * (3 if upd else 1), "posted_at": iso(t1[i]),
                    "updated_at": iso(t2[i] if upd else t1[i]),
                })
            return out

        self.tables["social_posts"] = Table("social_posts", total, t1, t2, person, build, ids)
        self.tables["social_posts"].labels = labels
        self.tables["social_posts"].langs = langs

    def _calls(self, rng):
        person = np.repeat(np.arange(self.n_people), rng.poisson(0.12, self.n_people))
        total = len(person)
        t1 = np.sort(rng.integers(self.start, self.end, total))
        person = person[rng.permutation(total)]
        langs = self.lang[person]
        dlg = np.array([rng.integers(0, len(self.corpus.dialogues[l])) for l in langs], dtype=np.int64)
        ids = np.array([f"CALL{k:09d}" for k in range(total)], dtype=object)
        phone_shown = rng.random(total) < 0.9
        phone_style = rng.integers(0, 8, total)
        member_given = rng.random(total) < 0.4
        queue = np.array(V.CALL_QUEUES, dtype=object)[rng.integers(0, len(V.CALL_QUEUES), total)]
        agent = rng.integers(1, 200, total)
        plant = {}
        for r in np.flatnonzero(rng.random(total) < 0.08).tolist():
            sentence = self._plant(rng, ("phone", "email"), person[r], langs[r])
            if sentence:
                plant[r] = sentence
        turn_gap = 25

        def build(idx, v2):
            out = []
            for i in idx.tolist():
                p = person[i]
                d = self.corpus.dialogues[langs[i]][dlg[i]]
                turns = [{"turn": k, "speaker": t["speaker"], "text": t["text"], "offset_s": k * turn_gap}
                         for k, t in enumerate(d.turns)]
                if i in plant:
                    first_customer = next(t for t in turns if t["speaker"] == "customer")
                    first_customer["text"] = first_customer["text"] + plant[i]
                out.append({
                    "call_id": ids[i],
                    "caller_phone": format_phone(self.phone[p], phone_style[i])
                    if phone_shown[i] and self.has_phone[p] else None,
                    "member_id": self.member_of[p] if member_given[i] else None,
                    "queue": queue[i], "agent_id": f"A{agent[i]:04d}", "store_id": None, "lang": langs[i],
                    "turns": turns, "started_at": iso(t1[i]), "ended_at": iso(t1[i] + turn_gap * len(turns)),
                    "updated_at": iso(t1[i] + turn_gap * len(turns)),
                })
            return out

        durations = np.array([len(self.corpus.dialogues[l][d].turns) for l, d in zip(langs, dlg)], dtype=np.int64)
        t_avail = t1 + turn_gap * durations  # a call is served once it has ended
        self.tables["calls"] = Table("calls", total, t_avail, np.full(total, NEVER), person, build, ids)
        self.call_started = t1
        self.tables["calls"].dialogue = dlg
        self.tables["calls"].langs = langs

    def _surveys(self, rng):
        person = np.repeat(np.arange(self.n_people), rng.poisson(0.8, self.n_people))
        total = len(person)
        responded = rng.integers(self.start, self.end, total)
        person = person[rng.permutation(total)]
        kind = _choice(rng, V.SURVEY_TYPES, total)
        tp = rng.integers(0, len(V.TOUCHPOINTS), total)
        touchpoint = np.array([V.TOUCHPOINTS[k][0] for k in tp], dtype=object)
        channel = np.array([V.TOUCHPOINTS[k][1] for k in tp], dtype=object)
        langs = self.lang[person]
        # Channel-specific satisfaction so the metrics differ by channel.
        shift = {"store": 0.05, "app": 0.0, "web": -0.05, "mini_program": 0.02, "call_center": -0.12}
        mix_shift = np.array([shift[c] for c in channel])
        has_comment = rng.random(total) < 0.6
        text_idx, labels = self._draw_texts(rng, self.corpus.survey_comments, langs,
                                            self.mood[person] + mix_shift / 0.08, (0.22, 0.18, 0.60))
        score = np.empty(total, dtype=np.int64)
        u = rng.random(total)
        for r in range(total):
            lab, k = labels[r], kind[r]
            if k == "nps":
                score[r] = (10 if u[r] < 0.5 else 9 if u[r] < 0.85 else 8) if lab == POS else \
                    (7 if u[r] < 0.5 else 8) if lab == NEU else int(u[r] * 7)
            elif k == "csat":
                score[r] = (5 if u[r] < 0.6 else 4) if lab == POS else 3 if lab == NEU else (1 if u[r] < 0.5 else 2)
            else:
                score[r] = (7 if u[r] < 0.5 else 6) if lab == POS else (4 if u[r] < 0.5 else 5) if lab == NEU \
                    else 1 + int(u[r] * 3)
        late = rng.random(total) < 0.05
        t1 = responded + np.where(late, rng.integers(HOUR, 72 * HOUR, total), rng.integers(60, 1800, total))
        corrected = rng.random(total) < 0.02
        t2 = np.where(corrected, t1 + rng.integers(HOUR, 48 * HOUR, total), NEVER)
        ids = np.array([f"SR{k:09d}" for k in range(total)], dtype=object)
        id_mode = rng.random(total)
        phone_style = rng.integers(0, 8, total)
        email_style = rng.integers(0, 4, total)
        # An order of the same person, when they have one (for the order-id identity clue).
        first_order = {}
        for k, p in enumerate(self.order_person.tolist()):
            first_order.setdefault(p, k)
        give_order = rng.random(total) < 0.3
        store_of_tp = rng.integers(0, self.physical_stores, total)
        self._nps_experiences(self._rngs[9], kind, channel, touchpoint, store_of_tp, person, langs, responded,
                              score, text_idx, labels, has_comment)
        score_v2 = np.where(kind == "nps", np.minimum(score + 1, 10),
                            np.where(kind == "csat", np.minimum(score + 1, 5), np.minimum(score + 1, 7)))
        self.survey_kind, self.survey_channel, self.survey_responded = kind, channel, responded
        self.survey_score_v1, self.survey_score_v2, self.survey_t2 = score, score_v2, t2
        self.survey_touchpoint, self.survey_person = touchpoint, person
        self.survey_store = np.where(channel == "store", self.store_ids[store_of_tp], None)

        def build(idx, v2):
            out = []
            for i, upd in zip(idx.tolist(), v2.tolist()):
                p = person[i]
                m = id_mode[i]
                member = self.member_of[p] if m < 0.45 else None
                phone = format_phone(self.phone[p], phone_style[i]) if 0.45 <= m < 0.7 and self.has_phone[p] else None
                email = format_email(self.email[p], email_style[i]) if 0.7 <= m < 0.9 and self.has_email[p] else None
                o = first_order.get(p) if give_order[i] else None
                ch = channel[i]
                out.append({
                    "response_id": ids[i], "survey_type": kind[i],
                    "score": int(score_v2[i] if upd else score[i]), "touchpoint": touchpoint[i], "channel": ch,
                    "store_id": self.store_ids[store_of_tp[i]] if ch == "store" else None,
                    "member_id": member, "phone": phone, "email": email,
                    "order_id": self.order_ids[o] if o is not None else None,
                    "comment": self.corpus.survey_comments[langs[i]].texts[text_idx[i]] if has_comment[i] else None,
                    "lang": langs[i], "responded_at": iso(responded[i]), "updated_at": iso(t2[i] if upd else t1[i]),
                })
            return out

        self.tables["surveys"] = Table("surveys", total, t1, t2, person, build, ids)
        self.tables["surveys"].labels = np.where(has_comment, labels, None)
        self.tables["surveys"].langs = langs

    def _nps_experiences(self, rng, kind, channel, touchpoint, store_of_tp, person, langs, responded, score,
                         text_idx, labels, has_comment):
        """NPS answers from the planted drivers and drops (simulator/experience.py); edits the arrays in place."""
        n = len(kind)
        drivers = X.DRIVERS
        effects = np.array([d.effect for d in drivers] + [0.0])  # index -1: no experience
        u = rng.random(n)
        experience = np.searchsorted(np.cumsum([d.rate for d in drivers]), u, side="right")
        experience = np.where(experience >= len(drivers), -1, experience)
        day = (responded - self.start) // DAY
        store = np.where(channel == "store", self.store_ids[store_of_tp], None)
        segments = {"store": store, "channel": channel, "touchpoint": touchpoint,
                    "member_tier": np.where(self.is_member[person], self.tier[person], None)}
        is_nps = kind == "nps"
        experience[~is_nps] = -1  # CSAT and CES answers keep their comment-label model
        busiest = pd.Series(store[is_nps & (channel == "store")]).value_counts().index
        mood = self.mood[person] * X.MOOD_WEIGHT + np.array([X.CHANNEL_SHIFT[c] for c in channel])
        mood = mood + O.nps_shift(self, person, responded)  # tier and tenure: the outcomes' confounders
        mean_before = X.BASE + mood + effects[experience]
        drop = np.full(n, -1)
        shift = np.zeros(n)
        surges = rng.random((len(X.DROPS), n))  # drawn in the control world too: the same world but the drops
        for k, d in enumerate(self.drops):
            value = (busiest[0] if len(busiest) else None) if d.value == X.BUSIEST_STORE else d.value
            hit = is_nps & (segments[d.segment] == value) & (day >= d.day) & (day < d.day + d.days) & (drop < 0)
            surge = surges[k] < d.surge
            drop[hit] = k
            shift[hit] = d.shift
            if d.driver:
                experience[hit & surge] = X.DRIVER_INDEX[d.driver]
        mean_after = X.BASE + mood + effects[experience] + shift
        latent = mean_after + rng.normal(0.0, X.NOISE_SD, n)
        nps_rows = np.flatnonzero(is_nps)
        score[nps_rows] = np.clip(np.round(latent[nps_rows]), 0, 10).astype(np.int64)
        pick = rng.random(n)
        for r in nps_rows.tolist():
            texts = X.topic_texts(self.corpus.survey_comments[langs[r]], langs[r])
            if experience[r] >= 0:
                d = drivers[experience[r]]
                cands = texts.get((d.topic, d.polarity))
                if cands:  # the comment says what happened
                    has_comment[r] = True
                    labels[r] = d.polarity
                    text_idx[r] = cands[int(pick[r] * len(cands))]
                    continue
            if has_comment[r]:  # nothing happened: a comment that mentions no topic, same mood-drawn label
                cands = texts.get(("", labels[r])) or texts.get(("", POS)) or []
                if cands:
                    text_idx[r] = cands[int(pick[r] * len(cands))]
                    labels[r] = self.corpus.survey_comments[langs[r]].labels[text_idx[r]]
        self.survey_experience, self.survey_drop = experience, drop
        self.survey_nps_mean = (mean_before, mean_after)
        self.survey_segments = segments
        self.drop_values = [(busiest[0] if len(busiest) else None) if d.value == X.BUSIEST_STORE else d.value
                            for d in self.drops]

    # ---------------------------------------------------------------- truth
    def truth_metrics(self, now: int) -> pd.DataFrame:
        """True NPS / CSAT / CES per day x channel of the responses visible at ``now``."""
        t = self.tables["surveys"]
        idx, _, is_v2 = t.visible_current(now)
        score = np.where(is_v2, self.survey_score_v2[idx], self.survey_score_v1[idx])
        day = local_day(self.survey_responded[idx])
        frame = pd.DataFrame({
            "day": [dt.datetime.fromtimestamp(d, TZ).date() for d in day.tolist()],
            "channel": self.survey_channel[idx], "survey_type": self.survey_kind[idx], "score": score,
        })
        rows = []
        for (day_, channel, kind), g in frame.groupby(["day", "channel", "survey_type"], sort=True):
            s = g["score"].to_numpy()
            row = {"day": day_, "channel": channel, "survey_type": kind, "n": len(s)}
            if kind == "nps":
                row.update(promoters=int((s >= 9).sum()), detractors=int((s <= 6).sum()),
                           passives=int(((s >= 7) & (s <= 8)).sum()))
                row["value"] = 100.0 * (row["promoters"] - row["detractors"]) / len(s)
            elif kind == "csat":
                row["value"] = float((s >= 4).mean())
            else:
                row["value"] = float(s.mean())
            rows.append(row)
        return pd.DataFrame(rows)

    def truth_feedback(self, now: int) -> pd.DataFrame:
        """Every visible survey response (current version) and review: local day, channel, touchpoint,
        store, survey type and score or rating, and the person behind it (for metric marts' truth)."""
        t = self.tables["surveys"]
        idx, _, is_v2 = t.visible_current(now)
        to_day = lambda ts: [dt.datetime.fromtimestamp(d, TZ).date() for d in local_day(ts).tolist()]
        surveys = pd.DataFrame({
            "source": "surveys", "record_id": t.ids[idx], "day": to_day(self.survey_responded[idx]),
            "channel": self.survey_channel[idx], "touchpoint": self.survey_touchpoint[idx],
            "store_id": self.survey_store[idx], "survey_type": self.survey_kind[idx],
            "score": np.where(is_v2, self.survey_score_v2[idx], self.survey_score_v1[idx]),
            "rating": None, "person_id": self.survey_person[idx],
        })
        r = self.tables["reviews"]
        ridx, _, _ = r.visible_current(now)
        reviews = pd.DataFrame({
            "source": "reviews", "record_id": r.ids[ridx], "day": to_day(self.review_t1[ridx]),
            "channel": "review", "touchpoint": "product_review", "store_id": self.review_store[ridx],
            "survey_type": None, "score": None, "rating": self.review_stars[ridx], "person_id": r.person[ridx],
        })
        return pd.concat([surveys, reviews], ignore_index=True)

    def truth_records(self, now: int) -> pd.DataFrame:
        """Person behind every visible record, and the label of its text where it has one."""
        frames = []
        for name, t in self.tables.items():
            idx, cur, _ = t.visible_current(now)
            labels = getattr(t, "labels", None)
            langs = getattr(t, "langs", None)
            frames.append(pd.DataFrame({
                "entity": name, "record_id": t.ids[idx], "person_id": t.person[idx],
                "label": labels[idx] if labels is not None else None,
                "lang": langs[idx] if langs is not None else None,
                "updated_at": cur,
            }))
        return pd.concat(frames, ignore_index=True)

    def planted_pii(self) -> pd.DataFrame:
        """Every PII value the simulator planted, in every format it may have been served in."""
        rows = []
        for p in range(self.n_people):
            rows.append(("name", self.person_name(p), p))
            if self.has_phone[p]:
                rows.extend(("phone", format_phone(self.phone[p], s), p) for s in range(8))
            if self.has_email[p]:
                rows.extend(("email", format_email(self.email[p], s).strip(), p) for s in range(4))
            if self.has_wechat[p]:
                rows.append(("wechat_id", self.wechat[p], p))
            if self.has_handle[p]:
                rows.append(("social_handle", self.handle(p), p))
            rows.append(("nickname", self.nickname(p), p))
        rows.extend(self.planted_text_pii)
        return pd.DataFrame(rows, columns=["kind", "value", "person_id"]).drop_duplicates(ignore_index=True)

    def truth_drivers(self) -> pd.DataFrame:
        """The planted drivers of likelihood-to-recommend: effect in points, rate, true importance and rank
        (1 = most important, among the non-zero drivers; zero drivers have no rank)."""
        frame = pd.DataFrame([{"driver": d.name, "topic": d.topic, "polarity": d.polarity, "effect_points": d.effect,
                               "rate": d.rate, "importance": d.importance} for d in X.DRIVERS])
        frame["importance_share"] = frame["importance"] / frame["importance"].sum()
        nonzero = frame["effect_points"] != 0
        frame["rank"] = frame["importance"].where(nonzero).rank(ascending=False, method="first").astype("Int64")
        return frame

    def truth_drops(self) -> pd.DataFrame:
        """Every planted drop: segment, days, cause, the NPS responses it touched, and the true NPS drop (the
        expected NPS of those responses with the drop minus without it, over the answer noise)."""
        before, after = self.survey_nps_mean
        day = (self.survey_responded - self.start) // DAY
        rows = []
        for k, d in enumerate(self.drops):
            hit = self.survey_drop == k
            nps = lambda means: float(np.mean([X.expected_nps(m) for m in means])) if len(means) else float("nan")
            first_day = (START + dt.timedelta(days=d.day)).date()
            rows.append({
                "drop_id": k, "segment": d.segment, "value": self.drop_values[k], "first_day": first_day,
                "last_day": first_day + dt.timedelta(days=d.days - 1), "shift_points": d.shift,
                "driver": d.driver, "surge": d.surge, "responses": int(hit.sum()),
                "responses_first_two_days": int((hit & (day < d.day + 2)).sum()),
                "true_nps_drop": nps(before[hit]) - nps(after[hit]),
            })
        return pd.DataFrame(rows, columns=["drop_id", "segment", "value", "first_day", "last_day", "shift_points",
                                           "driver", "surge", "responses", "responses_first_two_days",
                                           "true_nps_drop"])

    def truth_surveys(self, now: int) -> pd.DataFrame:
        """Every visible survey response (current version) with its segments, its planted experience (driver
        name, or None) and the planted drop it is part of (drop_id, or -1)."""
        t = self.tables["surveys"]
        idx, _, is_v2 = t.visible_current(now)
        frame = pd.DataFrame({
            "response_id": t.ids[idx], "survey_type": self.survey_kind[idx],
            "score": np.where(is_v2, self.survey_score_v2[idx], self.survey_score_v1[idx]),
            "day": [dt.datetime.fromtimestamp(d, TZ).date() for d in local_day(self.survey_responded[idx]).tolist()],
            "person_id": self.survey_person[idx],
            "experience": [X.DRIVERS[e].name if e >= 0 else None for e in self.survey_experience[idx].tolist()],
            "drop_id": self.survey_drop[idx],
        })
        for name, values in self.survey_segments.items():
            frame[name] = values[idx]
        return frame
