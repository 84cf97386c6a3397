"""The planted truth behind repurchase: experience -> outcomes, with member tier and tenure as confounders.

Orders come from two processes (both served by the CRM, ``crm_orders``; ids, stores, products and amounts
made the same way):

- **baseline orders** (``World._orders``): Poisson(2) per person, uniform over the person's time in the world,
  whatever they experienced; a homogeneous Poisson process at ``2 / (end - lo)`` per second;
- **outcome orders** (this module, its own random stream): after each NPS answer, for 90 days or until the
  person's next NPS answer, orders arrive at

      RATE_PER_DAY x TIER_RATE[tier] x TENURE_RATE[tenure band at the answer] x GROUP_RATE[group]

  per day, where group is the answer's promoter / passive / detractor group and a detractor whose alert was
  resolved (a call-centre call from them within RESOLVED_WITHIN_DAYS after the answer) gets back
  RECOVERY of the way to a passive's rate. So the latest experience moves the repurchase probability and
  the spend of the following 90 days; mood (which moves the answers) does not move orders.

Member tier and tenure are **confounders**: they shift the latent NPS score (``NPS_TIER_SHIFT``,
``NPS_TENURE_SHIFT``, added in ``World._nps_experiences``) and the order rate, so higher tiers and older
customers are both more often promoters and buy more: a naive promoter - detractor comparison overstates the
effect, a comparison within tier x tenure band does not.

The truth per customer (``truth_outcomes``) is, for the cohort the pipeline analyses at a clock ``now`` (each
customer's latest NPS answer on a day before ``as_of_day - horizon``; ``as_of_day`` the latest day with an
order), the exact probability of at least one order in the ``horizon`` days after the answer and the
expected spend, from both processes; the realized orders are what the CRM serves.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cem_pipeline.simulator import names as V

if TYPE_CHECKING:
    from cem_pipeline.simulator.world import World

DAY = 86400
EFFECT_DAYS = 90  # how long an answer governs the order rate (unless a newer answer replaces it)
HORIZONS = (30, 90)
RATE_PER_DAY = 0.008  # outcome orders per day of a passive, silver, established customer
GROUP_RATE = {"promoter": 1.6, "passive": 1.0, "detractor": 0.25}
RECOVERY = 0.5  # share of the detractor's lost rate a resolved alert gives back
RESOLVED_WITHIN_DAYS = 7
TIER_RATE = {"none": 0.5, "bronze": 0.7, "silver": 1.0, "gold": 1.8, "platinum": 3.0}
TENURE_RATE = {"new": 0.5, "established": 1.0, "loyal": 1.8}
# Points on the latent NPS scale (simulator/experience.py): the same people who buy more answer higher.
NPS_TIER_SHIFT = {"none": -0.5, "bronze": -0.4, "silver": 0.0, "gold": 0.6, "platinum": 1.2}
NPS_TENURE_SHIFT = {"new": -0.5, "established": 0.0, "loyal": 0.5}
TENURE_BANDS = ((90, "new"), (365, "established"))  # local days since registration: < 90, < 365, else loyal
REFUND_SHARE = 0.05  # of every order (World._orders); refunded orders do not count as spend
MEAN_QUANTITY = 2.0  # quantity is uniform on 1..3


def tenure_band(days: np.ndarray) -> np.ndarray:
    days = np.asarray(days)
    return np.where(days < TENURE_BANDS[0][0], "new", np.where(days < TENURE_BANDS[1][0], "established", "loyal"))


def planted_tier(world: World) -> np.ndarray:
    """The tier each person's outcomes and answers are planted with: the member's first tier, 'none' if no member."""
    return np.where(world.is_member, world.tier, "none").astype(object)


def nps_group(score: np.ndarray) -> np.ndarray:
    score = np.asarray(score)
    return np.where(score >= 9, "promoter", np.where(score >= 7, "passive", "detractor")).astype(object)


def nps_shift(world: World, person: np.ndarray, responded: np.ndarray) -> np.ndarray:
    """Latent NPS points from the person's tier and tenure band at the answer (the confounding)."""
    tier = planted_tier(world)[person]
    band = tenure_band(_local_day(responded) - _local_day(world.created[person]))
    return (np.array([NPS_TIER_SHIFT[t] for t in tier]) + np.array([NPS_TENURE_SHIFT[b] for b in band])
            if len(person) else np.zeros(0))


def mean_order_value() -> float:
    return float(np.mean([p[3] for p in V.PRODUCTS])) * MEAN_QUANTITY * (1 - REFUND_SHARE)


def _calls_within(world: World, person: np.ndarray, at: np.ndarray, days: int) -> np.ndarray:
    """Whether each (person, time) has a call-centre call of that person in (at, at + days]."""
    calls = world.tables["calls"]
    key = calls.person.astype(np.int64) * 10**11 + world.call_started
    order = np.sort(key)
    lo = np.searchsorted(order, person.astype(np.int64) * 10**11 + at, side="right")
    hi = np.searchsorted(order, person.astype(np.int64) * 10**11 + at + days * DAY, side="right")
    return hi > lo


def nps_segments(world: World) -> pd.DataFrame:
    """Every NPS answer as the segment of time it governs the person's outcome-order rate."""
    is_nps = world.survey_kind == "nps"
    final = np.where(world.survey_t2 < np.iinfo(np.int64).max, world.survey_score_v2, world.survey_score_v1)
    person = world.survey_person[is_nps]
    responded = world.survey_responded[is_nps]
    frame = pd.DataFrame({"survey": np.flatnonzero(is_nps), "person": person, "start": responded,
                          "score": final[is_nps]}).sort_values(["person", "start", "survey"], ignore_index=True)
    nxt = frame.groupby("person")["start"].shift(-1).fillna(world.end).astype(np.int64)
    frame["end"] = np.minimum(np.minimum(frame["start"] + EFFECT_DAYS * DAY, nxt), world.end)
    frame["group"] = nps_group(frame["score"].to_numpy())
    frame["tier"] = planted_tier(world)[frame["person"].to_numpy()]
    frame["tenure_band"] = tenure_band(_local_day(frame["start"].to_numpy())
                                       - _local_day(world.created[frame["person"].to_numpy()]))
    frame["resolved"] = (frame["group"] == "detractor").to_numpy() & _calls_within(
        world, frame["person"].to_numpy(), frame["start"].to_numpy(), RESOLVED_WITHIN_DAYS)
    multiplier = frame["group"].map(GROUP_RATE).to_numpy()
    recovered = GROUP_RATE["detractor"] + RECOVERY * (GROUP_RATE["passive"] - GROUP_RATE["detractor"])
    multiplier = np.where(frame["resolved"], recovered, multiplier)
    frame["rate_per_day"] = (RATE_PER_DAY * frame["tier"].map(TIER_RATE).to_numpy()
                             * frame["tenure_band"].map(TENURE_RATE).to_numpy() * multiplier)
    return frame


def plant_orders(world: World, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The outcome orders: (person, ordered_at) of each, sorted by time."""
    seg = world.outcome_segments
    length = np.maximum(seg["end"].to_numpy() - seg["start"].to_numpy(), 0)
    counts = rng.poisson(seg["rate_per_day"].to_numpy() * length / DAY)
    person = np.repeat(seg["person"].to_numpy(), counts)
    start = np.repeat(seg["start"].to_numpy(), counts)
    span = np.repeat(length, counts)
    t1 = start + 1 + (rng.random(len(person)) * np.maximum(span - 1, 0)).astype(np.int64)
    order = np.argsort(t1, kind="stable")
    return person[order], t1[order]


def planted_effects() -> pd.DataFrame:
    """The planted constants (outcomes.parquet): every factor of the outcome-order rate and of the NPS shift."""
    rows = [("rate_per_day", "base", RATE_PER_DAY), ("effect_days", "all", EFFECT_DAYS),
            ("recovery", "resolved_detractor", RECOVERY), ("resolved_within_days", "call", RESOLVED_WITHIN_DAYS),
            ("mean_order_value", "net_of_refunds", mean_order_value())]
    rows += [("group_rate", k, v) for k, v in GROUP_RATE.items()]
    rows += [("tier_rate", k, v) for k, v in TIER_RATE.items()]
    rows += [("tenure_rate", k, v) for k, v in TENURE_RATE.items()]
    rows += [("nps_tier_shift", k, v) for k, v in NPS_TIER_SHIFT.items()]
    rows += [("nps_tenure_shift", k, v) for k, v in NPS_TENURE_SHIFT.items()]
    return pd.DataFrame(rows, columns=["factor", "level", "value"])


def _local_day(ts: np.ndarray) -> np.ndarray:
    return (np.asarray(ts) + 8 * 3600) // DAY  # days since the epoch in UTC+8


def _overlap(a0, a1, b0, b1):
    return np.maximum(np.minimum(a1, b1) - np.maximum(a0, b0), 0)


def truth_outcomes(world: World, now: int) -> pd.DataFrame:
    """Per horizon (30, 90 days) and customer of the cohort at ``now`` (latest NPS answer on a local day before
    ``as_of_day - horizon``): the index answer, its group, the strata as the pipeline sees them (member tier at
    ``now``: the highest, upgrades included; tenure band at the answer), whether the alert was resolved, the
    realized outcome (orders, repurchased, net spend of the orders served) and the truth: ``p_repurchase``
    (probability of an order in the window, both processes) and ``expected_spend``."""
    orders = world.tables["crm_orders"]
    visible = orders.t1 <= now
    o_person, o_t1 = orders.person[visible], orders.t1[visible]
    refunded = world.order_refunded[visible] & (orders.t2[visible] <= now)
    amount = world.order_amount[visible]
    as_of = _local_day(o_t1).max()
    seg = world.outcome_segments
    upgraded = np.zeros(world.n_people, dtype=bool)
    upgraded[world.member_people] = world.member_t2 <= now
    tier_up = {"bronze": "silver", "silver": "gold", "gold": "platinum", "platinum": "platinum", "none": "none"}
    tier = planted_tier(world)
    seen_tier = np.where(upgraded, [tier_up[t] for t in tier], tier)
    lo = np.maximum(world.created, world.start)
    base_rate = 2.0 / np.maximum(world.end - lo, 3600)  # baseline orders per second (World._orders)
    key = o_person.astype(np.int64) * 10**11 + o_t1
    sort = np.argsort(key)
    key_sorted = key[sort]
    net = np.where(refunded, 0.0, amount)[sort]
    net_cum = np.concatenate([[0.0], np.cumsum(net)])
    frames = []
    for horizon in HORIZONS:
        index = seg[_local_day(seg["start"].to_numpy()) < as_of - horizon]
        index = index.groupby("person").tail(1)  # sorted by person, start: the latest answer before the cutoff
        p, t0 = index["person"].to_numpy(), index["start"].to_numpy()
        t_end = t0 + horizon * DAY
        a = np.searchsorted(key_sorted, p.astype(np.int64) * 10**11 + t0, side="right")
        b = np.searchsorted(key_sorted, p.astype(np.int64) * 10**11 + t_end, side="right")
        lam = base_rate[p] * _overlap(t0, t_end, lo[p], world.end)
        # the outcome-order segments of the same person that overlap the window (this answer's and later ones)
        mine = seg[seg["person"].isin(p)]
        j = mine.merge(pd.DataFrame({"person": p, "w0": t0, "w1": t_end}), on="person")
        j["lam"] = j["rate_per_day"] * _overlap(j["start"], j["end"], j["w0"], j["w1"]) / DAY
        lam = lam + j.groupby("person")["lam"].sum().reindex(p).fillna(0.0).to_numpy()
        frames.append(pd.DataFrame({
            "horizon_days": horizon, "as_of_day": dt.date(1970, 1, 1) + dt.timedelta(days=int(as_of)),
            "person_id": p, "response_id": world.tables["surveys"].ids[index["survey"].to_numpy()],
            "responded_at": t0, "score": index["score"].to_numpy(), "nps_group": index["group"].to_numpy(),
            "planted_tier": index["tier"].to_numpy(), "member_tier": seen_tier[p],
            "tenure_band": index["tenure_band"].to_numpy(), "resolved": index["resolved"].to_numpy(),
            "orders": b - a, "repurchased": (b - a) > 0, "spend": net_cum[b] - net_cum[a],
            "p_repurchase": 1 - np.exp(-lam), "expected_spend": lam * mean_order_value(),
        }))
    return pd.concat(frames, ignore_index=True)
