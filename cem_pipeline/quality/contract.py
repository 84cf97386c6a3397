"""What "valid" means for each source entity, declared once, on top of the catalogue.

The catalogue (``cem_pipeline.sources.catalog``) already says, per field, its type, whether it is
required and whether it is free text; the great-expectations suites derive from it (required ->
not null, type -> allowed JSON types, timestamp -> within the company's lifetime and not in the
future, string -> length and no control characters). This module adds only what the catalogue
cannot say: allowed values, numeric ranges (some conditional, e.g. the survey score's range depends
on the survey type) and the money rules. Edit the tables here, not the suite builder.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)  # before the company existed
FUTURE_SLACK = dt.timedelta(days=1)  # clocks of source systems drift; a day is a real error
MAX_TEXT_CHARS = 20_000  # free text: reviews, posts, comments, call turns
MAX_FIELD_CHARS = 500  # any other string field
MAX_AMOUNT = 10_000_000.0  # one order, in its currency
CURRENCIES = ("CNY", "HKD", "USD", "EUR", "GBP", "JPY")
SCORE_RANGES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}

# (entity, field) -> allowed values. Unknown values are quarantined: a new channel or platform is a
# contract change that analysts must map (touchpoints, journey stages) before it reaches the marts.
ALLOWED: dict[tuple[str, str], tuple[str, ...]] = {
    ("crm_members", "tier"): ("bronze", "silver", "gold", "platinum"),
    ("crm_orders", "channel"): ("store", "app", "web", "mini_program"),
    ("crm_orders", "platform"): ("pos", "tmall", "jd", "own_app", "own_web", "wechat"),
    ("crm_orders", "currency"): CURRENCIES,
    ("crm_orders", "status"): ("paid", "shipped", "delivered", "refunded", "cancelled"),
    ("reviews", "platform"): ("tmall", "jd", "dianping", "meituan", "amazon", "yelp", "google"),
    ("social_posts", "platform"): ("weibo", "xiaohongshu", "douyin", "twitter", "instagram"),
    ("social_posts", "kind"): ("post", "comment"),
    ("surveys", "survey_type"): tuple(SCORE_RANGES),
    ("surveys", "channel"): ("store", "app", "web", "mini_program", "call_center"),
}


@dataclass(frozen=True)
class Range:
    """``low <= field <= high``; ``when=(column, value)`` restricts it to rows where column == value."""

    field: str
    low: float | None
    high: float | None
    rule: str
    when: tuple[str, str] | None = None


RANGES: dict[str, tuple[Range, ...]] = {
    "reviews": (Range("rating", 1, 5, "rating_out_of_range"),),
    "surveys": tuple(Range("score", lo, hi, "score_out_of_range", ("survey_type", kind))
                     for kind, (lo, hi) in SCORE_RANGES.items()),
    "crm_orders": (
        Range("amount", 0, None, "negative_amount"),
        Range("amount", None, MAX_AMOUNT, "amount_too_large"),
        Range("quantity", 1, 10_000, "quantity_out_of_range"),
    ),
    "crm_members": (Range("points", 0, None, "negative_points"),),
    "crm_customers": (Range("birth_year", 1900, 2020, "birth_year_out_of_range"),),
}

# Money fields: at most two decimals (cents/fen), checked by a Python rule (GX has no modulo).
MONEY_FIELDS: dict[str, tuple[str, ...]] = {"crm_orders": ("amount",)}
