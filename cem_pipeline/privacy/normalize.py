"""Normalizers: the canonical form of each identifier kind, so that one value in any format gives one token.

Each ``normalize_*`` returns the canonical string, or None when the value is empty or cannot be put in
canonical form (then :func:`clean` gives the fallback form that is still tokenized, never stored raw).
Which kind uses which normalizer is declared in :mod:`cem_pipeline.privacy.kinds`; the masked-phone
normalizer lives with the masks (:func:`cem_pipeline.privacy.masks.normalize_masked_phone`), since it
masks a full number.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

DEFAULT_REGION = "CN"

_WS = re.compile(r"\s+")
PHONE_PUNCT = re.compile(r"[\s\-\.\(\)/]+")
# Fast path for CN mobiles after punctuation is removed: 13800138000, +8613800138000, 008613800138000...
_CN_MOBILE_CLEAN = re.compile(r"(?:\+86|0086|86)?(1[3-9]\d{9})")


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
    compact = PHONE_PUNCT.sub("", text)
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


def normalize_code(value) -> str | None:
    """Passport, permit, QQ and plate numbers: NFKC, separators (space, -, ·, .) dropped, upper-cased."""
    text = _text(value)
    if text is None:
        return None
    return re.sub(r"[\s\-·•・.]", "", text).upper() or None
