"""Privacy gate: keyed tokens, display masks and free-text PII redaction (pure Python, no Dagster).

Public API::

    load_pii_key(environ=None, data_dir=None) -> (key: bytes, notice: str | None)
    Tokenizer(key).token(kind, value) -> "phone:3fa1..." | None       Tokenizer.from_env(environ, data_dir)
    normalize(kind, value) / normalize_phone / normalize_email / normalize_handle / normalize_member_id
    mask_name / mask_phone / mask_email / mask_member_id / mask_handle / mask_masked_phone
    display_mask(role, value) -> masked display for any identifier role
    redact_text(text) -> RedactionResult(text, counts)
    mask_record(entity, record, tokenizer, counts=None) -> dict        mask_records(entity, records, tokenizer)
"""

from cem_pipeline.privacy.keys import KEY_VAR, load_pii_key
from cem_pipeline.privacy.masks import (
    mask_email,
    mask_handle,
    mask_masked_phone,
    mask_member_id,
    mask_name,
    mask_phone,
)
from cem_pipeline.privacy.normalize import (
    BANK_CARD,
    ID_NUMBER,
    KINDS,
    normalize,
    normalize_email,
    normalize_handle,
    normalize_masked_phone,
    normalize_member_id,
    normalize_name,
    normalize_phone,
)
from cem_pipeline.privacy.records import TOKENIZED, display_mask, mask_record, mask_records, output_columns
from cem_pipeline.privacy.redact import (
    PLACEHOLDERS,
    RedactionResult,
    is_bank_card,
    is_valid_prc_id,
    luhn_ok,
    redact_into,
    redact_text,
)
from cem_pipeline.privacy.tokens import Tokenizer

__all__ = [
    "BANK_CARD", "ID_NUMBER", "KEY_VAR", "KINDS", "PLACEHOLDERS", "TOKENIZED",
    "RedactionResult", "Tokenizer", "display_mask",
    "is_bank_card", "is_valid_prc_id", "load_pii_key", "luhn_ok",
    "mask_email", "mask_handle", "mask_masked_phone", "mask_member_id", "mask_name", "mask_phone",
    "mask_record", "mask_records", "normalize", "normalize_email", "normalize_handle",
    "normalize_masked_phone", "normalize_member_id", "normalize_name", "normalize_phone",
    "output_columns", "redact_into", "redact_text",
]
