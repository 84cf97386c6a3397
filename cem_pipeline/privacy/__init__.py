"""Privacy gate: keyed tokens, display masks and free-text PII redaction (pure Python, no Dagster).

What each PII kind is (normalizer, mask, placeholder, redaction rule) is declared once in
:mod:`cem_pipeline.privacy.kinds`; the per-kind functions live in ``normalize``, ``masks`` and ``redact``.

Public API::

    load_pii_key(environ=None, data_dir=None) -> (key: bytes, notice: str | None)
    Tokenizer(key).token(kind, value) -> "phone:3fa1..." | None       Tokenizer.from_env(environ, data_dir)
    normalize(kind, value) -> canonical form;  display_mask(kind, value) -> masked display
    redact_text(text) -> RedactionResult(text, counts)
    mask_record(entity, record, tokenizer, counts=None) -> dict        mask_records(entity, records, tokenizer)
"""

from cem_pipeline.privacy.keys import KEY_VAR, load_pii_key
from cem_pipeline.privacy.kinds import (
    KINDS,
    PLACEHOLDERS,
    REGISTRY,
    PiiKind,
    display_mask,
    normalize,
    redact_into,
    redact_text,
)
from cem_pipeline.privacy.records import TOKENIZED, mask_record, mask_records, output_columns
from cem_pipeline.privacy.redact import RedactionResult, is_bank_card, is_valid_prc_id, luhn_ok
from cem_pipeline.privacy.tokens import Tokenizer

__all__ = [
    "KEY_VAR", "KINDS", "PLACEHOLDERS", "REGISTRY", "TOKENIZED",
    "PiiKind", "RedactionResult", "Tokenizer", "display_mask",
    "is_bank_card", "is_valid_prc_id", "load_pii_key", "luhn_ok",
    "mask_record", "mask_records", "normalize", "output_columns", "redact_into", "redact_text",
]
