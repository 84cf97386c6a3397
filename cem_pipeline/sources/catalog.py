"""Declarative definitions of every source entity: the data contract between systems and raw.

Each entity names its source system, its HTTP path, the record id and cursor fields, and its fields
with their types, PII role (a kind of :mod:`cem_pipeline.privacy.kinds`, or ``FREE_TEXT``), and the
per-field quality contract (allowed values, numeric ranges, money). Everything per source is derived
from this one list: the connector, the simulator, raw landing, the quality and privacy gates, the
name and key of the dbt staging model, the texts the ML assets score. Adding a source means adding
its entry here (and its staging model); see the README's "Add a source".

Timestamps are ISO-8601 strings with an offset (``2026-10-01T09:30:00+08:00``). ``updated_at`` is
the source system's modification time: it only grows, so it is the paging cursor. Business times
(``ordered_at``, ``responded_at``...) may arrive late and out of order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# PII roles: how the privacy gate treats a field. An identifier field names its PII kind (``"phone"``,
# ``"member_id"``...: the kinds, with their normalizer, mask and token, are declared once in
# cem_pipeline/privacy/kinds.py); FREE_TEXT means "redact PII inside the text".
FREE_TEXT = "free_text"

MAX_AMOUNT = 10_000_000.0  # one order, in its currency
CURRENCIES = ("CNY", "HKD", "USD", "EUR", "GBP", "JPY")
SCORE_RANGES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}  # survey score range per survey type


@dataclass(frozen=True)
class Range:
    """Quality rule ``low <= value <= high`` (either bound may be None); a row outside breaks ``rule``."""

    low: float | None
    high: float | None
    rule: str


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # string | integer | number | timestamp | date | boolean | json
    required: bool = False
    pii: str | None = None
    description: str = ""
    # Quality contract of the field. Unknown values are quarantined: a new channel or platform is a
    # contract change that analysts must map (touchpoints, journey stages) before it reaches the marts.
    allowed: tuple[str, ...] = ()
    ranges: tuple[Range, ...] = ()
    money: bool = False  # at most two decimals (cents/fen)


@dataclass(frozen=True)
class Entity:
    """One pageable collection of one source system, landing in ``raw.<name>``."""

    name: str  # raw table / asset suffix, e.g. crm_customers
    system: str  # source system: crm | reviews | social | calls | surveys
    path: str  # HTTP path under the system's base URL
    id_field: str
    description: str
    fields: tuple[Field, ...] = field(default_factory=tuple)
    cursor_field: str = "updated_at"
    # The dbt staging model is stg_<system>__<name without its "<system>_" prefix>, keyed by the id
    # field; set these only where a source differs (its key equals masked.record_id: a token where the
    # source id is itself an identifier).
    staging_name: str | None = None
    staging_key_column: str | None = None

    @property
    def required_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    @property
    def staging_model(self) -> str:
        return self.staging_name or f"stg_{self.system}__{self.name.removeprefix(self.system + '_')}"

    @property
    def staging_key(self) -> str:
        return self.staging_key_column or self.id_field

    @property
    def text_fields(self) -> tuple[Field, ...]:
        """Free-text fields: PII in them is redacted, and the ML assets score them."""
        return tuple(f for f in self.fields if f.pii == FREE_TEXT)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")


def _f(name, type_, required=False, pii=None, description="", **contract):
    return Field(name, type_, required, pii, description, **contract)


SYSTEMS = ("crm", "reviews", "social", "calls", "surveys")

ENTITIES: tuple[Entity, ...] = (
    Entity(
        "crm_customers", "crm", "/v1/crm/customers", "customer_id",
        "CRM contact records. One person may have more than one (duplicate registrations).",
        (
            _f("customer_id", "string", True),
            _f("name", "string", pii="name"),
            _f("gender", "string"),
            _f("phone", "string", pii="phone", description="any format the CRM accepted"),
            _f("email", "string", pii="email"),
            _f("weibo_handle", "string", pii="social_handle"),
            _f("city", "string"),
            _f("birth_year", "integer", ranges=(Range(1900, 2020, "birth_year_out_of_range"),)),
            _f("preferred_language", "string"),
            _f("created_at", "timestamp", True),
            _f("updated_at", "timestamp", True),
        ),
    ),
    Entity(
        "crm_members", "crm", "/v1/crm/members", "member_id",
        "Loyalty-programme accounts, each bound to a CRM customer and often to a WeChat union id.",
        (
            _f("member_id", "string", True, pii="member_id"),
            _f("customer_id", "string", True),
            _f("tier", "string", True, allowed=("bronze", "silver", "gold", "platinum")),
            _f("points", "integer", ranges=(Range(0, None, "negative_points"),)),
            _f("wechat_union_id", "string", pii="wechat_id"),
            _f("home_store_id", "string"),
            _f("joined_at", "timestamp", True),
            _f("updated_at", "timestamp", True),
        ),
        staging_key_column="member_token",
    ),
    Entity(
        "crm_orders", "crm", "/v1/crm/orders", "order_id",
        "Orders in every sales channel; status moves paid -> shipped -> delivered (or refunded).",
        (
            _f("order_id", "string", True),
            _f("customer_id", "string", True),
            _f("member_id", "string", pii="member_id"),
            _f("store_id", "string"),
            _f("channel", "string", True, allowed=("store", "app", "web", "mini_program")),
            _f("platform", "string", True, allowed=("pos", "tmall", "jd", "own_app", "own_web", "wechat")),
            _f("product_id", "string", True),
            _f("product_name", "string"),
            _f("category", "string"),
            _f("quantity", "integer", True, ranges=(Range(1, 10_000, "quantity_out_of_range"),)),
            _f("amount", "number", True, money=True, ranges=(
                Range(0, None, "negative_amount"), Range(None, MAX_AMOUNT, "amount_too_large"))),
            _f("currency", "string", True, allowed=CURRENCIES),
            _f("status", "string", True, allowed=("paid", "shipped", "delivered", "refunded", "cancelled")),
            _f("ordered_at", "timestamp", True),
            _f("updated_at", "timestamp", True),
        ),
    ),
    Entity(
        "crm_stores", "crm", "/v1/crm/stores", "store_id",
        "Physical stores and online flagship shops.",
        (
            _f("store_id", "string", True),
            _f("name", "string", True),
            _f("city", "string", description="empty for online shops"),
            _f("region", "string"),
            _f("format", "string", description="mall | street | outlet | online"),
            _f("opened_at", "timestamp"),
            _f("updated_at", "timestamp", True),
        ),
    ),
    Entity(
        "reviews", "reviews", "/v1/reviews", "review_id",
        "E-commerce and O2O platform reviews with a 1-5 star rating.",
        (
            _f("review_id", "string", True),
            _f("platform", "string", True, allowed=("tmall", "jd", "dianping", "meituan", "amazon", "yelp", "google")),
            _f("order_id", "string"),
            _f("nickname", "string", pii="nickname"),
            _f("buyer_phone_masked", "string", pii="masked_phone"),
            _f("product_id", "string"),
            _f("store_id", "string"),
            _f("rating", "integer", True, ranges=(Range(1, 5, "rating_out_of_range"),)),
            _f("text", "string", True, pii=FREE_TEXT),
            _f("lang", "string"),
            _f("created_at", "timestamp", True),
            _f("updated_at", "timestamp", True),
        ),
    ),
    Entity(
        "social_posts", "social", "/v1/social/posts", "post_id",
        "Posts and comments mentioning the brand on social platforms; many are anonymous.",
        (
            _f("post_id", "string", True),
            _f("platform", "string", True, allowed=("weibo", "xiaohongshu", "douyin", "twitter", "instagram")),
            _f("kind", "string", True, allowed=("post", "comment")),
            _f("parent_post_id", "string"),
            _f("handle", "string", pii="social_handle"),
            _f("text", "string", True, pii=FREE_TEXT),
            _f("lang", "string"),
            _f("likes", "integer"),
            _f("posted_at", "timestamp", True),
            _f("updated_at", "timestamp", True),
        ),
    ),
    Entity(
        "calls", "calls", "/v1/calls", "call_id",
        "Call-centre calls; ``turns`` is a list of {turn, speaker, text, offset_s}.",
        (
            _f("call_id", "string", True),
            _f("caller_phone", "string", pii="phone"),
            _f("member_id", "string", pii="member_id"),
            _f("queue", "string"),
            _f("agent_id", "string"),
            _f("store_id", "string"),
            _f("lang", "string"),
            _f("turns", "json", True, pii=FREE_TEXT),
            _f("started_at", "timestamp", True),
            _f("ended_at", "timestamp"),
            _f("updated_at", "timestamp", True),
        ),
    ),
    Entity(
        "surveys", "surveys", "/v1/surveys/responses", "response_id",
        "NPS (0-10), CSAT (1-5) and CES (1-7) survey responses, each at a touchpoint.",
        (
            _f("response_id", "string", True),
            _f("survey_type", "string", True, allowed=tuple(SCORE_RANGES)),
            _f("score", "integer", True, description="range by survey type: quality.contract"),
            _f("touchpoint", "string", True),
            _f("channel", "string", True, allowed=("store", "app", "web", "mini_program", "call_center")),
            _f("store_id", "string"),
            _f("member_id", "string", pii="member_id"),
            _f("phone", "string", pii="phone"),
            _f("email", "string", pii="email"),
            _f("order_id", "string"),
            _f("comment", "string", pii=FREE_TEXT),
            _f("lang", "string"),
            _f("responded_at", "timestamp", True),
            _f("updated_at", "timestamp", True),
        ),
        staging_name="stg_surveys__responses",
    ),
)

def entity(name: str) -> Entity:
    # A scan, not a dict built at import: ENTITIES stays the one list (a handful of entries).
    for e in ENTITIES:
        if e.name == name:
            return e
    known = ", ".join(e.name for e in ENTITIES)
    raise KeyError(f"unknown source entity {name!r}; known entities: {known}")


def entities_of(system: str) -> tuple[Entity, ...]:
    return tuple(e for e in ENTITIES if e.system == system)


def text_entities() -> tuple[Entity, ...]:
    """Entities with free text, whole-record texts before per-turn ones (json lists of turns): the
    order the ML assets have always read them in, which fixes how texts fall into scoring chunks."""
    return tuple(sorted((e for e in ENTITIES if e.text_fields), key=lambda e: e.text_fields[0].type == "json"))
