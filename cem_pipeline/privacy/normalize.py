"""Normalizers: the canonical form of each identifier kind, so that one value in any format gives one token.

Each ``normalize_*`` returns the canonical string, or None when the value is empty or cannot be put in
canonical form (then :func:`clean` gives the fallback form that is still tokenized, never stored raw).
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

from cem_pipeline.sources import catalog as C

DEFAULT_REGION = "CN"

# Token kinds: the catalogue's PII roles, plus kinds the redactor finds in text.
ID_NUMBER = "id_number"
BANK_CARD = "bank_card"
KINDS = (C.PHONE, C.EMAIL, C.NAME, C.WECHAT, C.MEMBER, C.HANDLE, C.NICKNAME, C.MASKED_PHONE, ID_NUMBER, BANK_CARD)
_ALIASES = {"wechat": C.WECHAT, "member": C.MEMBER, "handle": C.HANDLE, "social": C.HANDLE}

_WS = re.compile(r"\s+")
_PHONE_PUNCT = re.compile(r"[\s\-\.\(\)/]+")
# Fast path for CN mobiles after punctuation is removed: 13800138000, +8613800138000, 008613800138000...
_CN_MOBILE_CLEAN = re.compile(r"(?:\+86|0086|86)?(1[3-9]\d{9})")
_MASKED = re.compile(r"(?:\+86|0086|86)?(\d{3})[*xX•●]{3,6}(\d{4})")


def canonical_kind(kind: str) -> str:
    kind = _ALIASES.get(kind, kind)
    if kind not in KINDS:
        raise ValueError(f"unknown PII kind {kind!r}; known kinds: {', '.join(KINDS)}")
    return kind


def _text(value) -> str | None:
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return text or None


def clean(value) -> str | None:
    """Fallback form of a value that no normalizer accepts: NFKC, single spaces, trimmed, lower-case."""
    text = _text(value)
    return None if text is None else _WS.sub(" ", text).lower()


def normalize_phone(value, region: str = DEFAULT_REGION) -> str | None:
    """E.164 (``+8613800138000``) for any input format; None when it is not a possible phone number."""
    text = _text(value)
    if text is None:
        return None
    compact = _PHONE_PUNCT.sub("", text)
    m = _CN_MOBILE_CLEAN.fullmatch(compact)
    if m:
        return "+86" + m.group(1)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number) and not (
        phonenumbers.is_possible_number(number) and len(str(number.national_number)) >= 7
    ):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_masked_phone(value) -> str | None:
    """``138****8000`` for a source-masked phone in any spelling (``138 **** 8000``, ``+86 138xxxx8000``).

    A full phone number that arrives in a masked-phone field is masked first, so it never leaks.
    """
    text = _text(value)
    if text is None:
        return None
    compact = _PHONE_PUNCT.sub("", text).replace("＊", "*")
    m = _MASKED.fullmatch(compact)
    if m:
        return f"{m.group(1)}****{m.group(2)}"
    full = normalize_phone(text)
    if full is not None:
        from cem_pipeline.privacy.masks import mask_phone  # local: masks imports this module

        return mask_phone(full)
    return None


def normalize_email(value) -> str | None:
    text = _text(value)
    if text is None:
        return None
    text = text.lower()
    if text.startswith("mailto:"):
        text = text[7:].strip()
    text = _WS.sub("", text)
    local, at, domain = text.rpartition("@")
    if not at or not local or "." not in domain:
        return None
    return text


def normalize_handle(value) -> str | None:
    """Social handles, platform nicknames and WeChat ids: NFKC, trimmed, no leading '@', lower-case."""
    text = _text(value)
    if text is None:
        return None
    text = _WS.sub(" ", text.lstrip("@").strip()).lower()
    return text or None


def normalize_member_id(value) -> str | None:
    text = _text(value)
    if text is None:
        return None
    return _WS.sub("", text).upper()


def normalize_name(value) -> str | None:
    text = _text(value)
    if text is None:
        return None
    return _WS.sub(" ", text).casefold()


def normalize_digits(value) -> str | None:
    """ID and card numbers: separators dropped, check character X upper-cased."""
    text = _text(value)
    if text is None:
        return None
    return re.sub(r"[\s\-]", "", text).upper()


_NORMALIZERS = {
    C.PHONE: normalize_phone,
    C.MASKED_PHONE: normalize_masked_phone,
    C.EMAIL: normalize_email,
    C.NAME: normalize_name,
    C.WECHAT: normalize_handle,
    C.HANDLE: normalize_handle,
    C.NICKNAME: normalize_handle,
    C.MEMBER: normalize_member_id,
    ID_NUMBER: normalize_digits,
    BANK_CARD: normalize_digits,
}


def normalize(kind: str, value) -> str | None:
    """Canonical form of ``value`` as a ``kind`` identifier, or None if it has none (see :func:`clean`)."""
    return _NORMALIZERS[canonical_kind(kind)](value)
