"""Keyed tokens: ``<kind>:<first 32 hex chars of HMAC-SHA256(key, normalized value)>``."""

from __future__ import annotations

import hashlib
import logging
import hmac
from pathlib import Path

from cem_pipeline.privacy.keys import MIN_KEY_CHARS, load_pii_key
from cem_pipeline.privacy.kinds import canonical_kind, normalize
from cem_pipeline.privacy.normalize import clean

TOKEN_HEX_CHARS = 32
log = logging.getLogger(__name__)


class Tokenizer:
    """Turns identifiers into keyed tokens; the same value in any format gives the same token.

    ``token(kind, value)`` normalizes the value for its kind (phones to E.164, e-mails lower-case,
    handles without '@'...); a value that cannot be normalized is tokenized in its cleaned form
    (NFKC, trimmed, lower-case). Empty values give None. Results are cached (bounded) because the same
    identifiers recur across millions of records.
    """

    def __init__(self, key: bytes | str, cache_size: int = 200_000):
        if isinstance(key, str):
            key = key.encode("utf-8")
        if len(key) < MIN_KEY_CHARS:
            raise ValueError(f"the PII key must be at least {MIN_KEY_CHARS} bytes long (got {len(key)})")
        self._mac = hmac.new(key, digestmod=hashlib.sha256)
        self._cache: dict[tuple[str, str], str | None] = {}
        self._cache_size = cache_size

    @classmethod
    def from_env(cls, environ=None, data_dir: Path | str | None = None) -> "Tokenizer":
        """A tokenizer keyed by :func:`load_pii_key`; logs the demo-key notice (once per process)."""
        key, notice = load_pii_key(environ, data_dir, once=True)
        if notice:
            log.warning(notice)
        return cls(key)

    def digest(self, normalized: str) -> str:
        mac = self._mac.copy()
        mac.update(normalized.encode("utf-8"))
        return mac.hexdigest()[:TOKEN_HEX_CHARS]

    def prf(self, message: bytes) -> bytes:
        """HMAC-SHA256 of ``message`` under this key (32 bytes): what seals the suppression key
        (cem_pipeline.privacy.suppression) and names the key without revealing it (:attr:`fingerprint`)."""
        mac = self._mac.copy()
        mac.update(message)
        return mac.digest()

    @property
    def fingerprint(self) -> str:
        """16 hex characters that tell two keys apart (recorded by rotations); the key cannot be read back."""
        return self.prf(b"cem:pii-key-fingerprint").hex()[:16]

    def token(self, kind: str, value) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            value = str(value)
        cache_key = (kind, value)
        hit = self._cache.get(cache_key, self)
        if hit is not self:
            return hit
        kind_c = canonical_kind(kind)
        normalized = normalize(kind_c, value)
        if normalized is None:
            normalized = clean(value)
        result = None if normalized is None else f"{kind_c}:{self.digest(normalized)}"
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[cache_key] = result
        return result
