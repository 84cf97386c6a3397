"""Signed webhooks: every alert POST carries a timestamped HMAC-SHA256 signature of its body.

The scheme (as Stripe's and Standard Webhooks'): the sender signs ``f"{timestamp}.".encode() + body`` with
the shared secret (``CEM_ALERT_WEBHOOK_SECRET``) and sends

    X-CEM-Timestamp: 1790000000                       (unix seconds when this attempt was sent)
    X-CEM-Signature: v1=<hex HMAC-SHA256>

The body sent is exactly the bytes signed. Signing the timestamp with the body lets a receiver refuse a
captured request replayed later (outside ``tolerance_s``, 5 minutes by default), and each retry is signed
anew. ``X-CEM-Signature`` may list several ``v1=`` values (comma-separated) so a secret can be rotated
with both signatures sent for a while; a request is good when any of them matches.

This module is standard library only, so a receiver can copy :func:`verify_signature` as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-CEM-Timestamp"
SIGNATURE_HEADER = "X-CEM-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300


class SignatureError(ValueError):
    """The request is not from the holder of the secret, or is too old (or too far ahead) to trust."""


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def signature(body: bytes, secret: str | bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>." + body`` under ``secret``."""
    return hmac.new(_key(secret), str(int(timestamp)).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str | bytes, timestamp: int | None = None) -> dict[str, str]:
    """The two headers that sign ``body`` (the exact bytes to be sent) now, or at ``timestamp``."""
    ts = int(time.time() if timestamp is None else timestamp)
    return {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: f"{SCHEME}={signature(body, secret, ts)}"}


def _header(headers, name: str) -> str | None:
    """A header by name, whatever the case: a dict, requests' headers or http.server's ``self.headers``."""
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value


def verify_signature(body: bytes, headers, secret: str | bytes, tolerance_s: int = DEFAULT_TOLERANCE_S,
                     now: float | None = None) -> int:
    """Check a received webhook; returns its timestamp, raises :class:`SignatureError` if it is not good.

    ``body``: the raw request body as received (before any JSON parsing: re-encoding changes the bytes).
    ``headers``: any mapping of the request headers. ``tolerance_s``: the replay window, in seconds either
    side of ``now`` (default: the receiver's clock).
    """
    raw_ts, raw_sig = _header(headers, TIMESTAMP_HEADER), _header(headers, SIGNATURE_HEADER)
    if not raw_ts or not raw_sig:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    try:
        ts = int(raw_ts)
    except ValueError:
        raise SignatureError(f"{TIMESTAMP_HEADER} is not a unix time: {raw_ts!r}") from None
    now = time.time() if now is None else now
    if abs(now - ts) > tolerance_s:
        raise SignatureError(f"timestamp {ts} is {now - ts:+.0f} s from now, outside the {tolerance_s} s window")
    expected = signature(body, secret, ts)
    offered = [part.strip()[len(SCHEME) + 1:] for part in raw_sig.split(",") if part.strip().startswith(SCHEME + "=")]
    if not any(hmac.compare_digest(expected, sig) for sig in offered):  # constant time: no timing oracle
        raise SignatureError("signature does not match the body and timestamp")
    return ts
