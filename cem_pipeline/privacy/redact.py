"""Free-text redaction rules: phone numbers, e-mails, PRC resident ID numbers and bank cards, in Chinese and English.

Each ``find_*`` function is the redaction rule of one PII kind: ``rule(text, hit) -> text`` replaces every
value of its kind by ``hit()`` (the kind's placeholder, e.g. ``[PHONE]``, counted). Which rule belongs to
which kind, the placeholders and the order the rules run in are in the registry
(:mod:`cem_pipeline.privacy.kinds`, which also has ``redact_text``).
Candidates are found by precompiled patterns and then validated, so near-misses stay: an 18-digit order
number fails the GB 11643 checksum or birth date, a 16-digit number fails Luhn or has no card-issuer
prefix, dates, times, prices, model numbers and letter-prefixed order ids never match.

What is ours and what is the library's: ``phonenumbers`` validates landlines and North-American numbers
and finds every ``+<country code>`` number (``PhoneNumberMatcher``); our own code is only what it does not
do: the ID-number checksum and date check, Luhn with issuer prefixes, and CN mobiles written without a
country code in Chinese text (``电话13800138000请回电``, ``138 0013 8000``) where the matcher needs word
boundaries and a region.

Texts without an e-mail sign, a ``+digit`` or a run of three digits skip every pass (one regex search),
which is most reviews and posts.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable

import phonenumbers

Hit = Callable[[], str]  # counts one found value and returns the placeholder that replaces it


@dataclass(frozen=True)
class RedactionResult:
    text: str
    counts: dict[str, int] = field(default_factory=dict)  # {"phone": 2, ...}; only types found

    @property
    def total(self) -> int:
        return sum(self.counts.values())


# --- patterns -------------------------------------------------------------------------------------------

_NOT_BEFORE = r"(?<![\dA-Za-z])(?<![A-Za-z][\-_])"  # not inside a word, nor after "SKU-"
_NOT_AFTER = r"(?![\dA-Za-z])"

_PRECHECK = re.compile(r"\d{3}|[@＠]|[+＋]\s?[(（]?\d")
_DIGITS4 = re.compile(r"\d{4}")
_PLUS_DIGIT = re.compile(r"[+＋]\s?[(（]?\d")

_EMAIL_CH = "A-Za-z0-9Ａ-Ｚａ-ｚ０-９"
_EMAIL = re.compile(
    rf"[{_EMAIL_CH}._%+\-]+[@＠](?:[{_EMAIL_CH}\-]+[.．])+[A-Za-zＡ-Ｚａ-ｚ]{{2,}}"
)

_X = "XxＸｘ"
_LONG_NUMBER = re.compile(
    _NOT_BEFORE
    + r"(?<![=/#])"  # not a URL's path segment or query value
    + r"(?:"
    + rf"\d{{17}}[\d{_X}]"  # ID number
    + rf"|\d{{6}}[ \-]\d{{8}}[ \-]\d{{3}}[\d{_X}]"  # ID number written 6-8-4
    + r"|\d{13,19}"  # card, contiguous
    + r"|\d{4}([ \-])\d{4}(?:\1\d{4}){1,2}(?:\1\d{1,3})?"  # card, groups of 4 (4-4-4-4, 4-4-4-4-3...)
    + r"|\d{4}([ \-])\d{6}\2\d{5}"  # card, 4-6-5 (Amex)
    + r")"
    + _NOT_AFTER
)

_SEP = r"[ \u3000\-]?"
_CN_MOBILE = re.compile(
    r"(?<![\dA-Za-z+＋])(?<![A-Za-z][\-_])"
    + r"(?:(?:[(（]?(?:[+＋]|00|００)\s?(?:86|８６)[)）]?|86|８６)" + _SEP + r")?"
    + r"[1１][3-9３-９]\d" + _SEP + r"\d{4}" + _SEP + r"\d{4}"
    + _NOT_AFTER
)
_CN_LANDLINE = re.compile(
    _NOT_BEFORE + r"(?:[(（][0０]\d{2,3}[)）][ \-]?|[0０]\d{2,3}[ \-])\d{7,8}" + _NOT_AFTER
)
_NANP = re.compile(
    r"(?<![\dA-Za-z+＋])(?<![A-Za-z][\-_])"
    + r"(?:[+＋]?1[ \-.]?)?(?:\(\d{3}\)[ ]?|\d{3}[ \-.])\d{3}[ \-.]\d{4}"
    + _NOT_AFTER
)

# --- validators (our own: no library does these) ----------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82 91".split()
)


def ascii_digits(text: str) -> str:
    """Full-width (and other Unicode) digits to ASCII; ``-``, spaces dropped; ``x`` upper-cased."""
    if not text.isascii():
        text = "".join(str(unicodedata.digit(c)) if c.isdigit() else unicodedata.normalize("NFKC", c) for c in text)
    return text.replace(" ", "").replace("-", "").replace("\u3000", "").upper()


def is_valid_prc_id(value: str) -> bool:
    """GB 11643-1999 resident ID: 18 characters, valid province, real birth date, ISO 7064 MOD 11-2 check."""
    s = ascii_digits(value)
    if len(s) != 18 or not s[:17].isdigit() or s[:2] not in _ID_PROVINCES:
        return False
    try:
        born = _dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    if born.year < 1900 or born > _dt.date.today():
        return False
    total = sum(int(d) * w for d, w in zip(s[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == s[17]


def prc_id_check_char(first17: str) -> str:
    """The check character for the first 17 digits (used by tests and the benchmark's generator)."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11]


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# Issuer prefixes and the lengths each network issues: Visa 4 (13/16/19); Mastercard 51-55, 2221-2720 (16);
# Amex 34/37 (15); UnionPay 62/81 (16-19); JCB 35 (16-19); Diners 30/36/38/39 (14-19); Discover 6011/64/65
# (16-19); Maestro 50/56-58/6x (12-19); legacy PRC bank cards 9558/9559 (19, ICBC/ABC).
def plausible_card_prefix(digits: str) -> bool:
    n, d1, d2, d4 = len(digits), digits[0], digits[:2], int(digits[:4])
    if d1 == "4":
        return n in (13, 16, 19)
    if "51" <= d2 <= "55" or 2221 <= d4 <= 2720:
        return n == 16
    if d2 in ("34", "37"):
        return n == 15
    if d2 in ("30", "36", "38", "39"):
        return 14 <= n <= 19
    if d2 in ("62", "81", "35", "64", "65") or d4 == 6011:
        return 16 <= n <= 19
    if d2 in ("50", "56", "57", "58") or d1 == "6":
        return 12 <= n <= 19
    return n == 19 and d4 in (9558, 9559)


def _id_shaped(s: str) -> bool:
    """18 characters with a province code and a real birth date: an ID number (maybe mistyped), not a card."""
    if len(s) != 18 or s[:2] not in _ID_PROVINCES:
        return False
    try:
        _dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    return True


def is_bank_card(value: str) -> bool:
    s = ascii_digits(value)
    return (13 <= len(s) <= 19 and s.isdigit() and plausible_card_prefix(s) and not _id_shaped(s)
            and luhn_ok(s))


# --- rules, one per kind -------------------------------------------------------------------------------


def may_hold_pii(text: str) -> bool:
    """False for texts without an e-mail sign, a ``+digit`` or a run of three digits: no rule can match."""
    return bool(text) and _PRECHECK.search(text) is not None


def find_emails(text: str, hit: Hit) -> str:
    if "@" in text or "＠" in text:
        text = _EMAIL.sub(lambda m: hit(), text)
    return text


# ID numbers and bank cards are both long digit runs (_LONG_NUMBER); a valid ID is never a card (is_bank_card
# rejects ID-shaped numbers), so two passes over the same candidates find what one combined pass would.
def find_bank_cards(text: str, hit: Hit) -> str:
    if _DIGITS4.search(text) is not None:
        text = _LONG_NUMBER.sub(lambda m: hit() if is_bank_card(m.group()) else m.group(), text)
    return text


def find_id_numbers(text: str, hit: Hit) -> str:
    if _DIGITS4.search(text) is not None:
        text = _LONG_NUMBER.sub(lambda m: hit() if is_valid_prc_id(m.group()) else m.group(), text)
    return text


def _valid_phone(text: str, region: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(unicodedata.normalize("NFKC", text), region))
    except phonenumbers.NumberParseException:
        return False


def find_phones(text: str, hit: Hit) -> str:
    if _DIGITS4.search(text) is not None:  # every pattern below holds a run of 4 digits
        text = _CN_MOBILE.sub(lambda m: hit(), text)
        text = _CN_LANDLINE.sub(lambda m: hit() if _valid_phone(m.group(), "CN") else m.group(), text)
        text = _NANP.sub(lambda m: hit() if _valid_phone(m.group(), "US") else m.group(), text)

    if _PLUS_DIGIT.search(text):
        spans = [(m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(text, None)]
        if spans:
            parts, last = [], 0
            for start, end in spans:
                parts.append(text[last:start])
                parts.append(hit())
                last = end
            parts.append(text[last:])
            text = "".join(parts)
    return text
