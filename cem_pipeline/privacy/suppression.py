"""The suppression list: what raw landing and the gates drop because its subject asked to be forgotten.

An erasure (:mod:`cem_pipeline.privacy.erasure`) adds the subject's identifiers (phone, e-mail, member id,
WeChat id, social handle) and the ids of every record of theirs to ``ops.privacy_suppressions``. A record
*matches* when any of these holds (:meth:`Suppression.matches`, the one test both raw landing and
``gates.gate_batch`` apply):

- its own id is a suppressed record id (``record:<entity>:<id>``), so a source that serves the same record
  again never brings it back;
- a field naming another record (``customer_id``, ``order_id``) names a suppressed one (the orders of an
  erased customer, the review of an erased order);
- an identifier field of a suppressed kind holds a suppressed identifier, in any format its normalizer
  accepts (the same normalize-then-HMAC as the PII tokens);
- a free text mentions a suppressed phone number or e-mail address (found by the redaction rules).

The entries are HMACs under the **suppression key**, not the PII key: a random 32-byte key created at the
first erasure and kept in ``ops.privacy_suppression_key`` sealed by the PII key (XOR with an HMAC of the PII
key over a random nonce, authenticated by a second HMAC). Without the PII key the entries cannot be tested
against a guess; and a key rotation (:mod:`cem_pipeline.privacy.rotation`) only reseals the suppression key,
so the list survives it although the erased subjects' values are gone from raw.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterator

from cem_pipeline import schema
from cem_pipeline.config import PII_KEY_VAR, ConfigError
from cem_pipeline.privacy.kinds import BY_NAME, EMAIL, HANDLE, MEMBER, PHONE, WECHAT, canonical_kind
from cem_pipeline.privacy.redact import may_hold_pii
from cem_pipeline.privacy.tokens import Tokenizer
from cem_pipeline.sources import catalog as C
from cem_pipeline.warehouse import first_row, table_exists

# Identifier kinds an erasure suppresses. Names, nicknames and source-masked phones are left out: they are
# not unique to one person (a new customer called 王伟 must still land); the subject's records that carry
# them are suppressed by their record ids.
SUPPRESSED_KINDS = (PHONE, EMAIL, MEMBER, WECHAT, HANDLE)
TEXT_KINDS = (EMAIL, PHONE)  # looked for inside free text, in the order the redaction rules run
RECORD = "record"
PREFIX = "erased:"  # suppression tokens: erased:<kind>/<32 hex> (kind record for a record id)
# Fields that name another entity's record: an erased customer's orders, an erased order's review or survey.
REFERENCES = {"customer_id": "crm_customers", "order_id": "crm_orders"}
KEY_ID = "suppression-v1"
_SEAL, _MAC = b"cem:suppression-seal:", b"cem:suppression-mac:"


class SuppressionKeyError(ConfigError):
    """The suppression key cannot be unsealed with this PII key."""


def ensure_tables(con) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema.OPS}")
    for table, columns in schema.PRIVACY_TABLES.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")


def seal(pii: Tokenizer, key: bytes) -> tuple[str, str, str]:
    """(nonce, sealed, mac) of ``key`` under the PII key, hex."""
    nonce = secrets.token_bytes(16)
    pad = pii.prf(_SEAL + nonce)
    sealed = bytes(a ^ b for a, b in zip(key, pad, strict=True))
    return nonce.hex(), sealed.hex(), pii.prf(_MAC + nonce + sealed).hex()


def unseal(pii: Tokenizer, nonce: str, sealed: str, mac: str, sealed_with: str) -> bytes:
    nonce_b, sealed_b = bytes.fromhex(nonce), bytes.fromhex(sealed)
    if not hmac.compare_digest(pii.prf(_MAC + nonce_b + sealed_b).hex(), mac):
        raise SuppressionKeyError(
            f"the suppression list ({schema.SUPPRESSIONS_TABLE}) is sealed with another PII key (fingerprint "
            f"{sealed_with}; this one is {pii.fingerprint}): set {PII_KEY_VAR} to the key the warehouse uses, or "
            "finish the key rotation with `cem privacy rotate-key --old-key-file ...`.")
    return bytes(a ^ b for a, b in zip(sealed_b, pii.prf(_SEAL + nonce_b), strict=True))


def suppression_key(con, pii: Tokenizer, create: bool = False) -> bytes | None:
    """The suppression key (None when there is none yet and ``create`` is false). ``create`` makes one and
    stores it sealed, in the caller's transaction."""
    if table_exists(con, schema.SUPPRESSION_KEY_TABLE):
        row = first_row(con, f"SELECT nonce, sealed, mac, sealed_with FROM {schema.SUPPRESSION_KEY_TABLE} "
                             "WHERE key_id = ?", [KEY_ID])
        if row:
            return unseal(pii, *row)
    if not create:
        return None
    ensure_tables(con)
    key = secrets.token_bytes(32)
    con.execute(f"INSERT INTO {schema.SUPPRESSION_KEY_TABLE} VALUES (?, ?, ?, ?, ?, ?, NULL)",
                [KEY_ID, pii.fingerprint, *seal(pii, key), _utcnow()])
    return key


def reseal(con, old: Tokenizer, new: Tokenizer) -> bool:
    """Seal the suppression key with ``new`` instead of ``old`` (idempotent: already sealed with ``new`` is
    fine). True when there was a key."""
    if not table_exists(con, schema.SUPPRESSION_KEY_TABLE):
        return False
    row = first_row(con, f"SELECT nonce, sealed, mac, sealed_with FROM {schema.SUPPRESSION_KEY_TABLE} "
                         "WHERE key_id = ?", [KEY_ID])
    if row is None:
        return False
    if row[3] == new.fingerprint:
        unseal(new, *row)
        return True
    key = unseal(old, *row)
    con.execute(f"UPDATE {schema.SUPPRESSION_KEY_TABLE} SET sealed_with = ?, nonce = ?, sealed = ?, mac = ?, "
                "resealed_at = ? WHERE key_id = ?", [new.fingerprint, *seal(new, key), _utcnow(), KEY_ID])
    return True


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


# --- what in a record can match ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Shape:
    id_field: str
    identifiers: tuple[tuple[str, str], ...]  # (field, kind)
    texts: tuple[str, ...]
    references: tuple[tuple[str, str], ...]  # (field, entity it names)


@lru_cache(maxsize=None)
def shape(entity_name: str) -> _Shape:
    """The fields of an entity's records that can match: its id, identifiers of suppressed kinds, texts, references."""
    ent = C.entity(entity_name)
    identifiers = tuple((f.name, canonical_kind(f.pii)) for f in ent.fields
                        if f.pii and f.pii != C.FREE_TEXT and canonical_kind(f.pii) in SUPPRESSED_KINDS)
    refs = tuple((f.name, REFERENCES[f.name]) for f in ent.fields if f.name in REFERENCES and f.name != ent.id_field)
    return _Shape(ent.id_field, identifiers, tuple(f.name for f in ent.text_fields), refs)


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)


_MARK = re.compile("\x00.\x00", re.S)


def _found(rule, text: str) -> list[str]:
    """The substrings of ``text`` that a redaction rule replaces: each hit is a unique marker, and the text
    between the unchanged parts is what was found."""
    hits = 0

    def hit() -> str:
        nonlocal hits
        hits += 1
        return f"\x00{chr(0xE000 + hits % 6400)}\x00"

    out = rule(text, hit)
    if not hits:
        return []
    parts = _MARK.split(out)
    pattern = "".join(re.escape(p) + ("(.+?)" if i < len(parts) - 1 else "") for i, p in enumerate(parts))
    m = re.fullmatch(pattern, text, re.S)
    return list(m.groups()) if m else []


def found_in_text(text: str) -> list[tuple[str, str]]:
    """(kind, value) of every e-mail address and phone number the redaction rules find in ``text``."""
    if not text or not may_hold_pii(text):
        return []
    out = []
    for kind in TEXT_KINDS:
        rule = BY_NAME[kind].redact
        out.extend((kind, v) for v in _found(rule, text))
        text = rule(text, lambda: BY_NAME[kind].placeholder)  # later kinds see earlier ones redacted, as in redaction
    return out


class Suppression:
    """The suppression list as loaded for one load or gate run. ``matches(entity, record)`` on a raw record."""

    def __init__(self, key: bytes | None = None, tokens: frozenset[str] = frozenset()):
        self.tokenizer = Tokenizer(key) if key is not None else None
        self.tokens = tokens

    def __bool__(self) -> bool:
        return bool(self.tokens)

    @classmethod
    def load(cls, con, pii: Tokenizer | Callable[[], Tokenizer]) -> "Suppression":
        """The list in the warehouse (empty when none: no key is needed then). ``pii`` (a tokenizer, or a function
        that makes one) unseals the suppression key."""
        if not table_exists(con, schema.SUPPRESSIONS_TABLE):
            return cls()
        tokens = frozenset(r[0] for r in con.execute(f"SELECT token FROM {schema.SUPPRESSIONS_TABLE}").fetchall())
        if not tokens:
            return cls()
        key = suppression_key(con, pii if isinstance(pii, Tokenizer) else pii())
        if key is None:
            raise SuppressionKeyError(f"{schema.SUPPRESSIONS_TABLE} has entries but {schema.SUPPRESSION_KEY_TABLE} "
                                      "has no key: restore that table from a backup of the warehouse.")
        return cls(key, tokens)

    def record_token(self, entity_name: str, record_id) -> str | None:
        if record_id is None or record_id == "":
            return None
        return f"{PREFIX}{RECORD}/{self.tokenizer.digest(f'{entity_name}:{record_id}')}"

    def identifier_token(self, kind: str, value) -> str | None:
        """``erased:<kind>/<hex>``: spelt unlike a PII token (``<kind>:<hex>``), so neither is taken for the other."""
        token = self.tokenizer.token(kind, value)
        return None if token is None else PREFIX + token.replace(":", "/", 1)

    def tokens_of(self, entity_name: str, record: dict) -> set[str]:
        """Every suppression token ``record`` carries (its id, its references, identifiers, texts' phones
        and e-mails)."""
        shape_ = shape(entity_name)
        out = {self.record_token(entity_name, record.get(shape_.id_field))}
        out.update(self.record_token(target, record.get(f)) for f, target in shape_.references)
        for f, kind in shape_.identifiers:
            value = record.get(f)
            if value is not None and not isinstance(value, (list, dict)):
                out.add(self.identifier_token(kind, value))
        for f in shape_.texts:
            for text in _strings(record.get(f)):
                out.update(self.identifier_token(kind, v) for kind, v in found_in_text(text))
        out.discard(None)
        return out

    def matches(self, entity_name: str, record) -> bool:
        if not self.tokens or not isinstance(record, dict):
            return False
        return not self.tokens.isdisjoint(self.tokens_of(entity_name, record))
