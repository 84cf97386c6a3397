"""What "valid" means for each source entity beyond what each catalogue field says.

The catalogue (``cem_pipeline.sources.catalog``) says, per field, its type, whether it is required,
whether it is free text, its allowed values, its numeric ranges and whether it is money; the
great-expectations suites derive from it (required -> not null, type -> allowed JSON types,
timestamp -> within the company's lifetime and not in the future, string -> length and no control
characters). This module holds only the global limits and the rules that span fields: a range that
depends on another field (the survey score's range depends on the survey type). An entity without an
entry in ``CONDITIONAL_RANGES`` has none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cem_pipeline.sources.catalog import SCORE_RANGES

EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)  # before the company existed
FUTURE_SLACK = dt.timedelta(days=1)  # clocks of source systems drift; a day is a real error
MAX_TEXT_CHARS = 20_000  # free text: reviews, posts, comments, call turns
MAX_FIELD_CHARS = 500  # any other string field


@dataclass(frozen=True)
class ConditionalRange:
    """``low <= field <= high`` on the rows where ``when[0] == when[1]``."""

    field: str
    low: float | None
    high: float | None
    rule: str
    when: tuple[str, str]


CONDITIONAL_RANGES: dict[str, tuple[ConditionalRange, ...]] = {
    "surveys": tuple(ConditionalRange("score", lo, hi, "score_out_of_range", ("survey_type", kind))
                     for kind, (lo, hi) in SCORE_RANGES.items()),
}
