"""Fault injection for the simulator: what a flaky real API does, on request.

A ``FaultPlan`` is set through ``POST /admin/faults``. ``script`` lists faults to apply to the next
data requests in order (one each, for exact tests); the rates apply at random (seeded) after that.
"""

from __future__ import annotations

import random
import threading
import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Callable

FAULT_KINDS = ("error_500", "error_503", "rate_limit", "timeout", "truncate", "duplicate_page",
               "out_of_order", "malformed", "unknown_field", "bad_encoding")


# ------------------------------------------------------------------ record faults (bad content)
def _shift(ts: str, days: float) -> str:
    return (dt.datetime.fromisoformat(ts) + dt.timedelta(days=days)).isoformat()


def _set(**values) -> Callable[[dict, str], list]:
    return lambda r, id_field: [{**r, **values}]


def _drop(name: str) -> Callable[[dict, str], list]:
    return lambda r, id_field: [{k: v for k, v in r.items() if k != name}]


def _mojibake(text: str) -> str:
    return text.encode("utf-8").decode("latin-1")  # UTF-8 bytes read as Latin-1


@dataclass(frozen=True)
class RecordFault:
    """One kind of bad record a real source sends, and what the quality gate must make of it.

    ``expect``: the (rule, field) it must be quarantined with; None when the record is acceptable and
    must reach staging (``warn``: the warning rule it raises instead, ``drift``: the unknown field).
    """

    kind: str
    entity: str
    apply: Callable[[dict, str], list]  # (record, id field) -> the records served in its place
    expect: tuple[str, str | None] | None
    warn: tuple[str, str] | None = None
    drift: str | None = None


RECORD_FAULTS: dict[str, RecordFault] = {f.kind: f for f in (
    RecordFault("score_as_word", "surveys", _set(score="ten"), ("wrong_type", "score")),
    RecordFault("score_as_float", "surveys", _set(score=7.5), ("wrong_type", "score")),
    RecordFault("score_as_bool", "surveys", _set(score=True), ("wrong_type", "score")),
    RecordFault("nps_out_of_range", "surveys", _set(survey_type="nps", score=11), ("score_out_of_range", "score")),
    RecordFault("csat_out_of_range", "surveys", _set(survey_type="csat", score=0), ("score_out_of_range", "score")),
    RecordFault("ces_out_of_range", "surveys", _set(survey_type="ces", score=8), ("score_out_of_range", "score")),
    RecordFault("unknown_channel", "surveys", _set(channel="fax"), ("not_allowed_value", "channel")),
    RecordFault("future_date", "surveys", lambda r, i: [{**r, "responded_at": _shift(r["updated_at"], 3650)}],
                ("future_timestamp", "responded_at")),
    RecordFault("missing_required_field", "surveys", _drop("survey_type"), ("missing_required", "survey_type")),
    RecordFault("rating_out_of_range", "reviews", _set(rating=7), ("rating_out_of_range", "rating")),
    RecordFault("rating_as_text", "reviews", _set(rating="5 stars"), ("wrong_type", "rating")),
    RecordFault("empty_text", "reviews", _set(text=""), ("blank_text", "text")),
    RecordFault("whitespace_text", "reviews", _set(text=" \t\n\u3000 "), ("blank_text", "text")),
    RecordFault("huge_text", "reviews", lambda r, i: [{**r, "text": (r["text"] + " ") * (100_000 // (len(r["text"]) + 1) + 1)}],
                ("text_too_long", "text")),
    RecordFault("null_byte", "reviews", lambda r, i: [{**r, "text": r["text"][:5] + "\x00" + r["text"][5:]}],
                ("control_characters", "text")),
    RecordFault("mojibake", "reviews", lambda r, i: [{**r, "text": _mojibake("质量很好，物流很快 " + r["text"])}],
                None, warn=("suspected_mojibake", "text")),
    RecordFault("unknown_platform", "reviews", _set(platform="myspace"), ("not_allowed_value", "platform")),
    RecordFault("missing_id", "reviews", _drop("review_id"), ("missing_required", "review_id")),
    RecordFault("unknown_field", "social_posts", _set(sentiment_hint="positive"), None, drift="sentiment_hint"),
    RecordFault("date_before_company", "social_posts", _set(posted_at="1999-12-31T08:00:00+08:00"),
                ("timestamp_too_old", "posted_at")),
    RecordFault("unparsable_date", "social_posts", _set(posted_at="yesterday 5pm"), ("bad_timestamp", "posted_at")),
    RecordFault("date_without_offset", "social_posts", lambda r, i: [{**r, "posted_at": r["posted_at"][:19]}],
                ("bad_timestamp", "posted_at")),
    RecordFault("replacement_characters", "social_posts", lambda r, i: [{**r, "text": r["text"] + " \ufffd\ufffd"}],
                None, warn=("replacement_character", "text")),
    RecordFault("negative_amount", "crm_orders", _set(amount=-99.0), ("negative_amount", "amount")),
    RecordFault("amount_as_string", "crm_orders", _set(amount="99.00"), ("wrong_type", "amount")),
    RecordFault("amount_sub_cent", "crm_orders", _set(amount=99.999), ("amount_precision", "amount")),
    RecordFault("unknown_currency", "crm_orders", _set(currency="XBT"), ("not_allowed_value", "currency")),
    RecordFault("zero_quantity", "crm_orders", _set(quantity=0), ("quantity_out_of_range", "quantity")),
    RecordFault("turns_as_text", "calls", _set(turns="customer: hello"), ("wrong_type", "turns")),
    RecordFault("turns_without_text", "calls", lambda r, i: [{**r, "turns": [{"turn": 0, "speaker": "customer"}]}],
                ("malformed_turns", "turns")),
    RecordFault("empty_turns", "calls", _set(turns=[]), ("malformed_turns", "turns")),
    RecordFault("duplicate_id_different_content", "crm_customers",
                lambda r, i: [r, {**r, "city": "Atlantis", "name": "X"}], ("duplicate_id_conflict", "customer_id")),
    RecordFault("non_object_record", "crm_customers", lambda r, i: [["not", "a", "record"]], ("not_an_object", None)),
    RecordFault("null_record", "crm_members", lambda r, i: [None], ("not_an_object", None)),
    RecordFault("phone_as_object", "crm_customers", lambda r, i: [{**r, "phone": {"number": "13800138000"}}],
                ("wrong_type", "phone")),
    RecordFault("escape_sequence_in_name", "crm_stores", lambda r, i: [{**r, "name": "\x1b[31m" + r["name"]}],
                ("control_characters", "name")),
)}


@dataclass
class FaultPlan:
    script: list[str] = field(default_factory=list)
    error_rate: float = 0.0  # HTTP 500/503
    rate_limit_rate: float = 0.0  # HTTP 429 with Retry-After
    timeout_rate: float = 0.0  # respond after ``slow_s`` (beyond the client's read timeout)
    truncate_rate: float = 0.0  # 200 with the body cut short
    duplicate_page_rate: float = 0.0  # the next cursor points back to the same page once
    out_of_order: bool = False  # pages served pairwise swapped, records shuffled within a page
    malformed_rate: float = 0.0  # share of records served with a broken field
    unknown_field: bool = False  # every record carries a field the contract does not know
    # entity -> RECORD_FAULTS kinds: kind j breaks the record at position j of every snapshot served
    # (so a page fetched again is broken the same way); /admin/faulted says which record got which.
    record_faults: dict[str, list[str]] = field(default_factory=dict)
    retry_after_s: int = 1
    slow_s: float = 2.0
    delay_s: float = 0.0  # added to every data response (for kill-in-the-middle tests)
    seed: int = 0

    @classmethod
    def from_json(cls, payload: dict) -> "FaultPlan":
        unknown = set(payload) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault options {sorted(unknown)}; known: {sorted(cls.__dataclass_fields__)}")
        bad = [k for k in payload.get("script", []) if k not in FAULT_KINDS]
        if bad:
            raise ValueError(f"unknown fault kinds {bad}; known: {list(FAULT_KINDS)}")
        bad = [k for kinds in payload.get("record_faults", {}).values() for k in kinds if k not in RECORD_FAULTS]
        if bad:
            raise ValueError(f"unknown record fault kinds {bad}; known: {sorted(RECORD_FAULTS)}")
        return cls(**payload)

    def to_json(self) -> dict:
        return asdict(self)


class FaultInjector:
    """Decides, per data request, which fault (if any) applies. Thread-safe and seeded."""

    def __init__(self):
        self._lock = threading.Lock()
        self.set(FaultPlan())

    def set(self, plan: FaultPlan) -> None:
        with self._lock:
            self.plan = plan
            self._script = list(plan.script)
            self._rng = random.Random(plan.seed)

    def next_request_fault(self) -> str | None:
        """A fault that replaces the whole response, or a page-level one, or None."""
        with self._lock:
            if self._script:
                return self._script.pop(0)
            p, r = self.plan, self._rng.random()
            for kind, rate in (("error_500", p.error_rate / 2), ("error_503", p.error_rate / 2),
                               ("rate_limit", p.rate_limit_rate), ("timeout", p.timeout_rate),
                               ("truncate", p.truncate_rate), ("duplicate_page", p.duplicate_page_rate)):
                if r < rate:
                    return kind
                r -= rate
            return None

    def record_is_malformed(self) -> bool:
        with self._lock:
            return self.plan.malformed_rate > 0 and self._rng.random() < self.plan.malformed_rate
