"""The quality gate's verdict on a raw batch: great-expectations suites plus the few row rules GX
cannot express.

``validate_batch`` returns, per record, the rules it breaks (errors: the row goes to quarantine) and
the warnings it raises (the row passes; the warning is recorded). Rules are named ``<kind>`` with
the field they concern, so quarantine can be grouped by rule.

- GX (``suites``): required fields, JSON types, timestamps (parsable, with offset, not in the future,
  not before the company existed), string lengths, control characters (NUL bytes), blank required
  text, allowed values, numeric ranges (survey score by survey type, rating, amount, quantity),
  unique (id, version) inside the batch.
- Python, here: a record that is not a JSON object (no frame row to validate); the JSON shape of
  ``turns``; money with more than two decimals; an (id, version) that conflicts with a row of
  another batch or load (``conflicts``); and the warnings below.
- Warnings (the row passes): ``suspected_mojibake`` (valid UTF-8 that reads like UTF-8 decoded as
  Latin-1/CP1252, e.g. ``æ‰‹æœº``: it is well-formed text, and quarantining it would drop real
  feedback; the warning lets the source owner fix it) and ``replacement_character`` (U+FFFD: bytes
  were lost upstream before we got them).
- Unknown fields are schema drift: kept in raw's record JSON, reported, not a failure.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from cem_pipeline.quality import suites
from cem_pipeline.sources.catalog import Entity

WARNING_RULES = ("suspected_mojibake", "replacement_character")
_MOJIBAKE_HINT = re.compile("[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e"
                            "\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]")


@dataclass(frozen=True)
class Violation:
    rule: str
    field: str | None
    value: object = None


def _is_mojibake(text: str) -> bool:
    if not _MOJIBAKE_HINT.search(text):
        return False
    for codec in ("cp1252", "latin-1"):
        try:
            fixed = text.encode(codec).decode("utf-8")
        except UnicodeError:
            continue
        if fixed != text:
            return True
    return False


def row_rules(entity: Entity, record: dict) -> list[Violation]:
    """Errors GX cannot express on a flat frame."""
    out = []
    for f in entity.fields:
        value = record.get(f.name)
        if f.type == "json" and f.name == "turns" and isinstance(value, list):  # other types: wrong_type
            if not (value and all(
                    isinstance(t, dict) and isinstance(t.get("text"), str) and isinstance(t.get("speaker"), str)
                    for t in value)):
                out.append(Violation("malformed_turns", f.name, value))
    for f in entity.fields:
        value = record.get(f.name)
        if f.money and isinstance(value, float) and abs(round(value, 2) - value) > 1e-9:
            out.append(Violation("amount_precision", f.name, value))
    return out


def row_warnings(entity: Entity, record: dict) -> list[Violation]:
    out = []
    for f in entity.fields:
        value = record.get(f.name)
        texts = [value] if isinstance(value, str) else (
            [t.get("text") for t in value if isinstance(t, dict) and isinstance(t.get("text"), str)]
            if f.name == "turns" and isinstance(value, list) else [])
        for text in texts:
            if "\ufffd" in text:
                out.append(Violation("replacement_character", f.name, text))
                break
            if _is_mojibake(text):
                out.append(Violation("suspected_mojibake", f.name, text))
                break
    return out


def validate_batch(entity: Entity, records: list, now: dt.datetime | None = None,
                   conflicts: set[tuple[str | None, str | None]] | frozenset = frozenset()
                   ) -> tuple[list[list[Violation]], list[list[Violation]]]:
    """(errors per record, warnings per record) for one batch of parsed raw records.

    ``conflicts``: (record id, cursor value) keys known to carry two different contents across
    batches or loads (the gate finds them in SQL); rows with such a key are quarantined too.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    errors: list[list[Violation]] = [[] for _ in records]
    warnings: list[list[Violation]] = [[] for _ in records]
    objects = [k for k, r in enumerate(records) if isinstance(r, dict)]
    for k, r in enumerate(records):
        if not isinstance(r, dict):
            errors[k].append(Violation("not_an_object", None, r))
    dicts = [records[k] for k in objects]
    failing = suites.validate_records(entity, dicts, now)
    for pos, k in enumerate(objects):
        record = records[k]
        seen = set()
        for rule, field in failing.get(pos, ()):
            if (rule, field) not in seen:
                seen.add((rule, field))
                errors[k].append(Violation(rule, field, record.get(field) if field else None))
        for v in row_rules(entity, record):
            errors[k].append(v)
        if conflicts and ("duplicate_id_conflict", entity.id_field) not in seen:
            rid, cur = record.get(entity.id_field), record.get(entity.cursor_field)
            key = (None if rid is None else str(rid), None if cur is None else str(cur))
            if key in conflicts:
                errors[k].append(Violation("duplicate_id_conflict", entity.id_field, rid))
        warnings[k] = row_warnings(entity, record)
    return errors, warnings


def validate_record(entity: Entity, record, now: dt.datetime | None = None) -> list[Violation]:
    """Every error one record raises on its own (a batch of one; no cross-row rules)."""
    return validate_batch(entity, [record], now)[0][0]


def unknown_fields(entity: Entity, record) -> set[str]:
    """Fields the contract does not know (schema drift); kept in raw, reported, not quarantined."""
    if not isinstance(record, dict):
        return set()
    known = {f.name for f in entity.fields}
    return {k for k in record if k not in known}
