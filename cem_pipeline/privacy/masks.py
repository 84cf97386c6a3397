"""Display masks: what a masked table shows in place of a name, phone, e-mail or id.

Also the masked-phone normalizer: a source-masked phone's canonical form is itself a mask.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

from cem_pipeline.privacy.normalize import PHONE_PUNCT, normalize_email, normalize_member_id, normalize_phone

_WS = re.compile(r"\s+")
_DIGIT = re.compile(r"\d")
_MASKED = re.compile(r"(?:\+86|0086|86)?(\d{3})[*xX•●]{3,6}(\d{4})")


def _text(value) -> str | None:
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return text or None


def mask_name(value) -> str | None:
    """Keep the first character of each word: ``张三``→``张*``, ``欧阳娜娜``→``欧***``, ``John Smith``→``J*** S****``.

    A CJK name (no spaces) keeps only its first character (the surname, or the first half of a
    two-character surname). A one-character name becomes ``*``.
    """
    text = _text(value)
    if text is None:
        return None
    words = _WS.split(text)
    return " ".join(w[0] + "*" * (len(w) - 1) if len(w) > 1 else "*" for w in words)


def _mask_digits(national: str) -> str:
    if len(national) >= 9:
        return national[:3] + "*" * 4 + national[-4:]
    if len(national) >= 6:
        return "*" * (len(national) - 4) + national[-4:]
    return "*" * len(national)


def mask_phone(value) -> str | None:
    """``138****8000``: the first 3 and last 4 digits of the national number; ``+44 207****0958`` abroad."""
    text = _text(value)
    if text is None:
        return None
    e164 = normalize_phone(text)
    if e164 is None:
        digits = "".join(ch for ch in text if ch.isdigit())
        return _mask_digits(digits) if digits else "***"
    if e164.startswith("+861") and len(e164) == 14:
        national = e164[3:]
        return national[:3] + "****" + national[-4:]
    number = phonenumbers.parse(e164, None)
    national = str(number.national_number)
    masked = _mask_digits(national)
    return masked if number.country_code == 86 else f"+{number.country_code} {masked}"


def normalize_masked_phone(value) -> str | None:
    """``138****8000`` for a source-masked phone in any spelling (``138 **** 8000``, ``+86 138xxxx8000``).

    A full phone number that arrives in a masked-phone field is masked first, so it never leaks.
    """
    text = _text(value)
    if text is None:
        return None
    compact = PHONE_PUNCT.sub("", text).replace("＊", "*")
    m = _MASKED.fullmatch(compact)
    if m:
        return f"{m.group(1)}****{m.group(2)}"
    full = normalize_phone(text)
    if full is not None:
        return mask_phone(full)
    return None


def mask_masked_phone(value) -> str | None:
    """Display of a source-masked phone: its canonical ``138****8000`` form (a full number is masked)."""
    masked = normalize_masked_phone(value)
    if masked is not None:
        return masked
    text = _text(value)
    if text is None:
        return None
    return _DIGIT.sub("*", text)


def mask_email(value) -> str | None:
    """``a***@example.com``: the first character of the local part, then the domain."""
    text = _text(value)
    if text is None:
        return None
    email = normalize_email(text) or text.lower()
    local, at, domain = email.rpartition("@")
    if not at:
        return email[:1] + "***"
    return f"{local[:1]}***@{domain}"


def mask_member_id(value) -> str | None:
    """``M****2345``: the first character, stars, the last 4 characters."""
    text = normalize_member_id(value)
    if text is None:
        return None
    if len(text) <= 5:
        return "*" * len(text)
    return text[0] + "*" * (len(text) - 5) + text[-4:]


def mask_handle(value) -> str | None:
    """Handles, nicknames, WeChat ids: the first character and ``***`` (``@Lily_88`` → ``L***``)."""
    text = _text(value)
    text = text.lstrip("@").strip() if text else None
    if not text:
        return None
    return text[0] + "***"
