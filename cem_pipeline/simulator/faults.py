"""Fault injection for the simulator: what a flaky real API does, on request.

A ``FaultPlan`` is set through ``POST /admin/faults``. ``script`` lists faults to apply to the next
data requests in order (one each, for exact tests); the rates apply at random (seeded) after that.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field

FAULT_KINDS = ("error_500", "error_503", "rate_limit", "timeout", "truncate", "duplicate_page",
               "out_of_order", "malformed", "unknown_field")


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
