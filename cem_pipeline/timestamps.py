"""Source timestamps: ISO-8601 with a UTC offset, as every source in the catalogue sends them."""

from __future__ import annotations

import datetime as dt


def parse_source_ts(value) -> dt.datetime | None:
    """An aware datetime for an ISO-8601 timestamp with an offset ('Z' allowed); None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None
