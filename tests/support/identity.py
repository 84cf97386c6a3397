"""Identity helpers for the end-to-end tests: the record -> customer_key map, and a member id's token."""

from __future__ import annotations

from pathlib import Path

from cem_pipeline.privacy import Tokenizer
from tests.support.e2e import TEST_PII_KEY, query


def record_keys(warehouse: Path):
    return query(warehouse, "select entity, record_id, customer_key, match_rule from intermediate.int_identity__record_keys")


def member_token(raw_member_id: str) -> str:
    return Tokenizer(TEST_PII_KEY).token("member_id", raw_member_id)
