"""The planted truth behind the NPS answers: what drives likelihood-to-recommend, and when it drops.

An NPS answer is ``clip(round(latent), 0, 10)`` with

    latent = BASE + MOOD_WEIGHT * mood(person) + CHANNEL_SHIFT[channel] + effect(experience) + drop + noise

- **Drivers.** Each NPS response has at most one planted *experience* (a late delivery, a rude agent, a
  product that broke...), drawn with the driver's ``rate``; it moves the latent score by ``effect`` points
  (zero for some drivers on purpose) and the response's comment is a real text that mentions that topic,
  and only that topic, with that polarity (so topic mentions and sentence sentiment can reveal it). A
  response with no experience gets, if any, a comment that mentions no topic.
- **Drops.** On given days a segment (a store, a channel, a touchpoint or a member tier) shifts its
  scores: every NPS response in it moves by ``shift`` points, and with probability ``surge`` its
  experience becomes the drop's ``driver`` (the cause, which the comments then mention). The control world
  (``World(drops=False)``) has none.

The true importance of a driver is ``effect**2 * rate * (1 - rate)``: the variance it adds to the latent
score (the experiences are exclusive, so this ranks drivers as the R² shares of a regression would).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from statistics import NormalDist

from cem_pipeline.simulator.corpus import NEG, POS

BASE, MOOD_WEIGHT, NOISE_SD = 8.6, 0.7, 1.6
CHANNEL_SHIFT = {"store": 0.3, "app": 0.0, "web": -0.3, "mini_program": 0.1, "call_center": -0.7}
PROMOTER_FROM, DETRACTOR_BELOW = 8.5, 6.5  # on the latent scale: round() gives 9-10 and 0-6


@dataclass(frozen=True)
class Driver:
    topic: str
    polarity: str  # negative | positive: the sentiment the comment mentions the topic with
    effect: float  # points of likelihood-to-recommend (0-10)
    rate: float  # share of NPS responses with this experience

    @property
    def name(self) -> str:
        return f"{self.topic}_{self.polarity}"

    @property
    def importance(self) -> float:
        return self.effect ** 2 * self.rate * (1 - self.rate)


DRIVERS = (
    Driver("delivery", NEG, -3.0, 0.07),
    Driver("service", NEG, -2.5, 0.07),
    Driver("quality", NEG, -2.0, 0.06),
    Driver("quality", POS, 1.5, 0.06),
    Driver("service", POS, 1.0, 0.07),
    Driver("price", NEG, -1.0, 0.04),
    Driver("delivery", POS, 0.8, 0.03),
    Driver("price", POS, 0.5, 0.04),
    # Zero drivers: mentioned as often as a weak one, with no effect on the score.
    Driver("packaging", NEG, 0.0, 0.025),
    Driver("packaging", POS, 0.0, 0.025),
    Driver("website", NEG, 0.0, 0.025),
    Driver("website", POS, 0.0, 0.025),
)
DRIVER_INDEX = {d.name: k for k, d in enumerate(DRIVERS)}


@dataclass(frozen=True)
class Drop:
    segment: str  # store | channel | touchpoint | member_tier
    value: str  # the segment's value; "<busiest>" = the physical store with the most NPS responses
    day: int  # first local day of the drop, counted from the world's start (day 0)
    days: int
    shift: float  # latent points added to every NPS response in the segment on those days
    driver: str | None = None  # the cause: a driver name whose experience the affected responses get...
    surge: float = 0.0  # ...with this probability


BUSIEST_STORE = "<busiest>"

# Planted in the default world: big drops in big segments, a small one (below 10 NPS points), one in a
# small store, and later ones for the hourly runs that follow the first 30 days.
DROPS = (
    Drop("member_tier", "bronze", 24, 7, -0.6, "delivery_negative", 0.3),
    Drop("channel", "call_center", 26, 7, -0.4, "service_negative", 0.3),
    Drop("touchpoint", "app_checkout", 27, 7, -1.4),
    Drop("store", BUSIEST_STORE, 22, 7, -0.8, "quality_negative", 0.3),
    Drop("channel", "mini_program", 18, 7, -0.25),
    Drop("channel", "web", 31, 7, -0.9, "delivery_negative", 0.4),
    Drop("member_tier", "gold", 34, 7, -1.0))


_phi = NormalDist().cdf


def expected_nps(latent_mean: float) -> float:
    """Expected NPS contribution (+100 promoter, -100 detractor) of one answer whose latent mean is given."""
    promoter = 1.0 - _phi((PROMOTER_FROM - latent_mean) / NOISE_SD)
    detractor = _phi((DETRACTOR_BELOW - latent_mean) / NOISE_SD)
    return 100.0 * (promoter - detractor)


def topic_texts(pool, lang: str) -> dict[tuple[str, str], list[int]]:
    """Indices of a text pool by (topic, label) for texts that mention exactly one topic, and by
    ("", label) for texts that mention none (the taxonomy's matching rule, cem_pipeline.nlp.topics)."""
    from cem_pipeline.nlp.topics import load_taxonomy

    cache = pool.__dict__.setdefault("_topic_texts", {})
    if lang in cache:
        return cache[lang]
    keywords: dict[str, list[str]] = {}
    for k in load_taxonomy():
        if k.language == lang:
            keywords.setdefault(k.topic, []).append(re.escape(k.keyword))
    # One regex per topic, the alternation of its keywords (same rule as keyword_pattern, much faster).
    patterns = {t: re.compile("|".join(kws) if lang == "zh" else rf"\b(?:{'|'.join(kws)})(s|es)?\b")
                for t, kws in keywords.items()}
    out: dict[tuple[str, str], list[int]] = {}
    for i, (text, label) in enumerate(zip(pool.texts, pool.labels)):
        low = text.lower()
        found = [t for t, p in patterns.items() if p.search(low)]
        if len(found) <= 1:
            out.setdefault((found[0] if found else "", label), []).append(i)
    cache[lang] = out
    return out
