"""Call-level sentiment from per-turn scores.

A call is a sequence of turns ``(speaker, score)`` in order, with ``score`` in [-1, 1] (the turn's
P(positive) - P(negative)). Agents are polite by script, so their turns say little about how the
customer feels: customer turns weigh ``customer_weight`` (default 2.0), agent turns ``agent_weight``
(default 0.5), other speakers (system actions) 0.

- ``score``: weighted mean of all turn scores.
- ``start_score`` / ``end_score``: mean of the first / last ``window`` (default 2) customer turns; when
  the call has no customer turn, of the first / last turns of anyone. With fewer than ``2 * window``
  customer turns the two windows are the first and the second half, so they never overlap (one customer
  turn: start = end).
- ``improved``: the call ended better than it began: ``end_score - start_score >= min_delta``
  (default 0.1, so noise in near-neutral turns does not count as improvement).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence


@dataclass(frozen=True)
class CallSentiment:
    score: float | None
    start_score: float | None
    end_score: float | None
    improved: bool | None
    delta: float | None
    n_turns: int
    n_customer_turns: int


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def call_sentiment(
    turns: Iterable[tuple[str, float | None]],
    customer_weight: float = 2.0,
    agent_weight: float = 0.5,
    window: int = 2,
    min_delta: float = 0.1,
) -> CallSentiment:
    """Aggregate ordered ``(speaker, score)`` turns into a :class:`CallSentiment` (turns with a None
    score, e.g. empty text, are skipped)."""
    scored = [(str(s).lower(), float(v)) for s, v in turns if v is not None and v == v]
    weights = {"customer": customer_weight, "agent": agent_weight}
    wsum = sum(weights.get(s, 0.0) for s, _ in scored)
    score = sum(weights.get(s, 0.0) * v for s, v in scored) / wsum if wsum > 0 else _mean([v for _, v in scored])
    customer = [v for s, v in scored if s == "customer"]
    basis = customer or [v for _, v in scored]
    if not basis:
        return CallSentiment(None, None, None, None, None, 0, 0)
    k = max(1, min(window, len(basis) // 2)) if len(basis) > 1 else 1
    start, end = _mean(basis[:k]), _mean(basis[-k:])
    delta = end - start
    return CallSentiment(
        score=round(score, 6), start_score=round(start, 6), end_score=round(end, 6),
        improved=bool(len(basis) > 1 and delta >= min_delta), delta=round(delta, 6),
        n_turns=len(scored), n_customer_turns=len(customer),
    )
