"""Row-level quality rules derived from the source catalogue's contract.

``validate_record`` returns every rule a record breaks (empty list: it passes). Rules are named
``<kind>`` with the field they concern, so the quarantine table can be grouped by rule. Unknown
fields are schema drift, reported but not a failure: raw keeps them in the record JSON.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cem_pipeline.sources.catalog import Entity

EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)  # before the company existed
FUTURE_SLACK = dt.timedelta(days=1)
MAX_TEXT_CHARS = 20_000
SCORE_RANGES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
ENUMS = {
    ("surveys", "survey_type"): {"nps", "csat", "ces"},
    ("crm_members", "tier"): {"bronze", "silver", "gold", "platinum"},
    ("social_posts", "kind"): {"post", "comment"},
    ("crm_orders", "status"): {"paid", "shipped", "delivered", "refunded", "cancelled"},
}


@dataclass(frozen=True)
class Violation:
    rule: str
    field: str | None
    value: object = None


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "") or value == [] or value == {}


def _as_int(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _as_ts(value):
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def validate_record(entity: Entity, record, now: dt.datetime | None = None) -> list[Violation]:
    if not isinstance(record, dict):
        return [Violation("not_an_object", None, record)]
    now = now or dt.datetime.now(dt.timezone.utc)
    out: list[Violation] = []
    for f in entity.fields:
        value = record.get(f.name)
        if _is_blank(value):
            if f.required:
                out.append(Violation("missing_required", f.name, value))
            continue
        if f.type == "integer" and _as_int(value) is None:
            out.append(Violation("wrong_type", f.name, value))
        elif f.type == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
            out.append(Violation("wrong_type", f.name, value))
        elif f.type == "timestamp":
            ts = _as_ts(value)
            if ts is None:
                out.append(Violation("bad_timestamp", f.name, value))
            elif ts > now + FUTURE_SLACK:
                out.append(Violation("future_timestamp", f.name, value))
            elif ts < EARLIEST:
                out.append(Violation("timestamp_too_old", f.name, value))
        elif f.type == "string":
            if not isinstance(value, str):
                out.append(Violation("wrong_type", f.name, value))
            elif "\x00" in value:
                out.append(Violation("control_characters", f.name, value))
            elif len(value) > MAX_TEXT_CHARS:
                out.append(Violation("text_too_long", f.name, value[:50]))
        elif f.type == "json" and f.name == "turns":
            if not isinstance(value, list) or not all(isinstance(t, dict) and isinstance(t.get("text"), str)
                                                      for t in value):
                out.append(Violation("malformed_turns", f.name, None))
        allowed = ENUMS.get((entity.name, f.name))
        if allowed and isinstance(value, str) and value not in allowed:
            out.append(Violation("not_allowed_value", f.name, value))
    out.extend(_range_rules(entity, record))
    return out


def _range_rules(entity: Entity, record: dict) -> list[Violation]:
    out = []
    if entity.name == "surveys":
        bounds = SCORE_RANGES.get(record.get("survey_type"))
        score = _as_int(record.get("score"))
        if bounds and score is not None and not bounds[0] <= score <= bounds[1]:
            out.append(Violation("score_out_of_range", "score", record.get("score")))
    elif entity.name == "reviews":
        rating = _as_int(record.get("rating"))
        if rating is not None and not 1 <= rating <= 5:
            out.append(Violation("rating_out_of_range", "rating", record.get("rating")))
    elif entity.name == "crm_orders":
        amount, qty = record.get("amount"), _as_int(record.get("quantity"))
        if isinstance(amount, (int, float)) and not isinstance(amount, bool) and amount < 0:
            out.append(Violation("negative_amount", "amount", amount))
        if qty is not None and qty < 1:
            out.append(Violation("quantity_out_of_range", "quantity", qty))
    return out


def unknown_fields(entity: Entity, record) -> set[str]:
    """Fields the contract does not know (schema drift); kept in raw, reported, not quarantined."""
    if not isinstance(record, dict):
        return set()
    known = {f.name for f in entity.fields}
    return {k for k in record if k not in known}
