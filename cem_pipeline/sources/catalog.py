"""Declarative definitions of every source entity: the data contract between systems and raw.

Each entity names its source system, its HTTP path, the record id and cursor fields, and its fields
with their types, PII role and whether they hold free text. The connector, the simulator, raw
landing, the quality and privacy gates and the dbt staging models all read this one catalogue.

Timestamps are ISO-8601 strings with an offset (``2026-10-01T09:30:00+08:00``). ``updated_at`` is
the source system's modification time: it only grows, so it is the paging cursor. Business times
(``ordered_at``, ``responded_at``...) may arrive late and out of order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# PII roles: how the privacy gate treats a field.
PHONE = "phone"
EMAIL = "email"
NAME = "name"
WECHAT = "wechat_id"
MEMBER = "member_id"
HANDLE = "social_handle"
NICKNAME = "nickname"
FREE_TEXT = "free_text"  # redact PII inside the text
MASKED_PHONE = "masked_phone"  # already masked by the source (138****8000); still tokenized


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # string | integer | number | timestamp | date | boolean | json
    required: bool = False
    pii: str | None = None
    description: str = ""


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

    @property
    def required_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")


def _f(name, type_, required=False, pii=None, description=""):
    return Field(name, type_, required, pii, description)


SYSTEMS = ("crm", "reviews", "social", "calls", "surveys")

ENTITIES: tuple[Entity, ...] = (
    Entity(
        "crm_customers", "crm", "/v1/crm/customers", "customer_id",
        "CRM contact records. One person may have more than one (duplicate registrations).",
        (
            _f("customer_id", "string", True),
            _f("name", "string", pii=NAME),
            _f("gender", "string"),
            _f("phone", "string", pii=PHONE, description="any format the CRM accepted"),
            _f("email", "string", pii=EMAIL),
            _f("weibo_handle", "string", pii=HANDLE),
            _f("city", "string"),
            _f("birth_year", "integer"),
            _f("preferred_language", "string"),
            _f("created_at", "timestamp", True),
            _f("updated_at", "timestamp", True),
        ),
    ),
    Entity(
        "crm_members", "crm", "/v1/crm/members", "member_id",
        "Loyalty-programme accounts, each bound to a CRM customer and often to a WeChat union id.",
        (
            _f("member_id", "string", True, pii=MEMBER),
            _f("customer_id", "string", True),
            _f("tier", "string", True, description="bronze | silver | gold | platinum"),
            _f("points", "integer"),
            _f("wechat_union_id", "string", pii=WECHAT),
            _f("home_store_id", "string"),
            _f("joined_at", "timestamp", True),
            _f("updated_at", "timestamp", True),
        ),
    ),
    Entity(
        "crm_orders", "crm", "/v1/crm/orders", "order_id",
        "Orders in every sales channel; status moves paid -> shipped -> delivered (or refunded).",
        (
            _f("order_id", "string", True),
            _f("customer_id", "string", True),
            _f("member_id", "string", pii=MEMBER),
            _f("store_id", "string"),
            _f("channel", "string", True, description="store | app | web | mini_program"),
            _f("platform", "string", True),
            _f("product_id", "string", True),
            _f("product_name", "string"),
            _f("category", "string"),
            _f("quantity", "integer", True),
            _f("amount", "number", True),
            _f("currency", "string", True),
            _f("status", "string", True),
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
            _f("platform", "string", True),
            _f("order_id", "string"),
            _f("nickname", "string", pii=NICKNAME),
            _f("buyer_phone_masked", "string", pii=MASKED_PHONE),
            _f("product_id", "string"),
            _f("store_id", "string"),
            _f("rating", "integer", True),
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
            _f("platform", "string", True),
            _f("kind", "string", True, description="post | comment"),
            _f("parent_post_id", "string"),
            _f("handle", "string", pii=HANDLE),
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
            _f("caller_phone", "string", pii=PHONE),
            _f("member_id", "string", pii=MEMBER),
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
            _f("survey_type", "string", True, description="nps | csat | ces"),
            _f("score", "integer", True),
            _f("touchpoint", "string", True),
            _f("channel", "string", True),
            _f("store_id", "string"),
            _f("member_id", "string", pii=MEMBER),
            _f("phone", "string", pii=PHONE),
            _f("email", "string", pii=EMAIL),
            _f("order_id", "string"),
            _f("comment", "string", pii=FREE_TEXT),
            _f("lang", "string"),
            _f("responded_at", "timestamp", True),
            _f("updated_at", "timestamp", True),
        ),
    ),
)

ENTITIES_BY_NAME = {e.name: e for e in ENTITIES}


def entity(name: str) -> Entity:
    try:
        return ENTITIES_BY_NAME[name]
    except KeyError:
        known = ", ".join(ENTITIES_BY_NAME)
        raise KeyError(f"unknown source entity {name!r}; known entities: {known}") from None


def entities_of(system: str) -> tuple[Entity, ...]:
    return tuple(e for e in ENTITIES if e.system == system)
