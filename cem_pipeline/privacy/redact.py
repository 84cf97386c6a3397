"""Free-text redaction rules, in Chinese and English: phone numbers, e-mails, PRC resident ID numbers (18 and
15 digits), bank cards, QQ numbers, passports, HK / Macau / Taiwan travel permits, licence plates, postal
addresses, and names after a salutation or in a signature.

Each ``find_*`` function is the redaction rule of one PII kind: ``rule(text, hit) -> text`` replaces every
value of its kind by ``hit()`` (the kind's placeholder, e.g. ``[PHONE]``, counted). Which rule belongs to
which kind, the placeholders and the order the rules run in are in the registry
(:mod:`cem_pipeline.privacy.kinds`, which also has ``redact_text``); the word lists the rules read
(surnames, provinces, plate prefixes, words that are no names) are in :mod:`cem_pipeline.privacy.lexicon`.
Candidates are found by precompiled patterns and then validated, so near-misses stay: an 18-digit order
number fails the GB 11643 checksum or birth date, a 16-digit number fails Luhn or has no card-issuer
prefix, dates, times, prices, model numbers and letter-prefixed order ids never match. Numbers too plain to
tell apart (a QQ number, a Taiwan permit's 8 digits, a foreign passport) are taken only after their keyword
(``QQ：``, ``台胞证``, ``passport no.``); a name only after a salutation (``张先生``, ``Mr.``, ``Hi ...,``) or in
a signature (``Regards, ...``, ``— Mary`` at the end); an address only with a road and number, or a
building and room (``建国路88号``, ``3栋2单元502室``, ``221B Baker Street``). In text, a name keeps its
salutation (``[NAME]先生``, ``Mr. [NAME]``).

What is ours and what is the library's: ``phonenumbers`` validates landlines and North-American numbers
and finds every ``+<country code>`` number (``PhoneNumberMatcher``); our own code is only what it does not
do: the ID-number checksum and date check, Luhn with issuer prefixes, and CN mobiles written without a
country code in Chinese text (``电话13800138000请回电``, ``138 0013 8000``) where the matcher needs word
boundaries and a region.

Texts with none of the rules' cheap hints (an e-mail sign, ``+digit``, three digits, a salutation, an
address word, a plate prefix) skip every pass (``may_hold_pii``), which is most reviews and posts.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable

import phonenumbers

from cem_pipeline.privacy import lexicon

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
# Amex 34/37 (15); UnionPay 62/81 (16-19); JCB 35 (16-19); Diners 30/36/38/39 (14, 16-19); Discover
# 6011/64/65 (16-19); Maestro 50/56-58/6x (12-14, 16-19); legacy PRC bank cards 9558/9559 (19, ICBC/ABC).
# Fifteen digits is Amex only: a 15-digit legacy ID number (or an order number shaped like one) that starts
# with 5 or 6 passes Luhn one time in ten, and no Maestro or Diners card in use has 15 digits.
def plausible_card_prefix(digits: str) -> bool:
    n, d1, d2, d4 = len(digits), digits[0], digits[:2], int(digits[:4])
    if n == 15:
        return d2 in ("34", "37")
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
    """False for texts that no rule can match: no e-mail sign, ``+digit``, run of three digits, salutation,
    sign-off, address word or plate prefix (most reviews and posts)."""
    if not text:
        return False
    return any(p.search(text) is not None for p in _PRECHECKS)


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
        text = _LONG_NUMBER.sub(
            lambda m: hit() if is_valid_prc_id(m.group()) or is_legacy_prc_id(m.group()) else m.group(), text)
        text = _ID15_SPACED.sub(lambda m: hit() if is_legacy_prc_id(m.group()) else m.group(), text)
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


# --- identity documents: 15-digit legacy IDs, passports, travel permits -------------------------------------

_ID15_CITY = frozenset(f"{n:02d}" for n in (*range(1, 71), 90))  # GB/T 2260 prefecture codes


def is_legacy_prc_id(value: str) -> bool:
    """The pre-1999 15-digit resident ID: province, prefecture code, a real 19YYMMDD birth date, no check digit."""
    s = ascii_digits(value)
    if len(s) != 15 or not s.isdigit() or s[:2] not in _ID_PROVINCES or s[2:4] not in _ID15_CITY:
        return False
    try:
        _dt.date(1900 + int(s[6:8]), int(s[8:10]), int(s[10:12]))
    except ValueError:
        return False
    return True


_ID15_SPACED = re.compile(_NOT_BEFORE + r"(?<![=/#])\d{6}([ \-])\d{6}\1\d{3}" + _NOT_AFTER)


def _date_shaped(digits: str) -> bool:
    """A YYYYMMDD date (1990-2040) at the start: what batch and order codes (E20260901) are made of."""
    if len(digits) < 8 or not 1990 <= int(digits[:4]) <= 2040:
        return False
    try:
        _dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return False
    return True


_DOC_AFTER = r"(?![A-Za-z0-9])"
_DOC_BEFORE = r"(?<![A-Za-z0-9\-_/=#@.])"  # not a URL segment (/document/c05123456) nor a handle
# A keyword, then an optional "number" word and separator, then the value: 护照号码：E12345678,
# passport no. 123456789, 台胞证号 12345678. Used for formats that are too plain to find alone.
_DOC_LINK = r"\s*(?:号码|号|編號|编号|no\.?|number|num|#)?\s*(?:[:：#]|是|为|is)?\s*"
_PASSPORT_CONTEXT = re.compile(r"(?i:护照|passport)" + _DOC_LINK + r"(?P<v>[A-Za-z]{0,2}\d{6,9})" + _DOC_AFTER)
# China's own passports alone: E + 8 digits, E + letter + 7 (after the E range ran out), G + 8 (before
# 2012), D/S + 8 and SE + 7 (diplomatic, service).
_PASSPORT_BARE = re.compile(_DOC_BEFORE + r"(?P<v>[EGDS]\d{8}|E[A-HJ-NP-Z]\d{7}|SE\d{7})" + _DOC_AFTER)
_PERMIT_WORDS = (r"往来港澳通行证|港澳通行证|港澳证|往来台湾通行证|台湾通行证|大陆居民往来台湾通行证|赴台通行证|入台证|"
                 r"台湾居民来往大陆通行证|台胞证|回乡证|港澳居民来往内地通行证|通行证|"
                 r"(?i:home[\s\-]return permit|travel permit|exit[\s\-]entry permit|mainland travel permit)")
_PERMIT_CONTEXT = re.compile(
    rf"(?:{_PERMIT_WORDS})" + _DOC_LINK
    + r"(?P<v>[A-Za-z]{0,2}\d{7,10}(?:\s?[(（][A-Za-z0-9]{1,2}[)）])?)" + _DOC_AFTER)
# Permits alone: C + 8 / C + letter + 7 (mainland residents to HK and Macau), W + 8 (its old booklet),
# L + 8 (to Taiwan), H/M + 8 or 10 (HK / Macau residents' home-return permit). Taiwan residents' 8 plain
# digits (台胞证) only with a keyword. Alone, only upper-case as printed: lower-case c05123456 is a URL's id.
_PERMIT_BARE = re.compile(
    _DOC_BEFORE + r"(?P<v>C\d{8}|C[A-HJ-NP-Z]\d{7}|[WL]\d{8}|[HM]\d{8}(?:\d{2})?)" + _DOC_AFTER)


def _replace_value(pattern: re.Pattern, text: str, hit: Hit, keep=lambda v: False) -> str:
    """Replace only the ``v`` group of each match (the keyword before it stays), unless ``keep(value)``."""
    def sub(m: re.Match) -> str:
        value = m.group("v")
        if keep(value):
            return m.group()
        start, end = m.span("v")
        whole = m.group()
        return whole[:start - m.start()] + hit() + whole[end - m.start():]
    return pattern.sub(sub, text)


def _bare_code_is_date(value: str) -> bool:
    return _date_shaped(value.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))


_DOC_HINT = re.compile(r"\d{7}")


def find_passports(text: str, hit: Hit) -> str:
    if _DOC_HINT.search(text) is None:
        return text
    text = _replace_value(_PASSPORT_CONTEXT, text, hit)
    return _replace_value(_PASSPORT_BARE, text, hit, keep=_bare_code_is_date)


def find_travel_permits(text: str, hit: Hit) -> str:
    if _DOC_HINT.search(text) is None:
        return text
    text = _replace_value(_PERMIT_CONTEXT, text, hit)
    return _replace_value(_PERMIT_BARE, text, hit, keep=_bare_code_is_date)


# --- QQ numbers, only after a QQ keyword (a bare 5-11 digit number is anything) ----------------------------

_QQ = re.compile(
    r"(?:(?<![A-Za-z])(?i:qq)(?![A-Za-z])|ＱＱ|扣扣|企鹅号)"
    r"(?:\s*[/／、]\s*(?:微信|wx|WX|vx|VX|V信))?"  # "QQ/微信：" one number for both
    r"\s*(?:号码|号|账号|帐号)?\s*(?i:number|no\.?|num|is|#)?\s*(?:[:：=]|是|为)?\s*"
    r"(?P<v>[1-9１-９][\d０-９]{4,10})(?![\d０-９]|[.．][\d０-９])"
)


def find_qq_numbers(text: str, hit: Hit) -> str:
    if "扣扣" not in text and "企鹅" not in text and "ＱＱ" not in text and "qq" not in text.lower():
        return text
    return _replace_value(_QQ, text, hit)


# --- licence plates ----------------------------------------------------------------------------------------

# GA 36: a province character, the issuing office's letter (no I or O), then five characters (at most two
# letters), or six for new-energy vehicles (D/F + letter-or-digit + 4 digits; 5 digits + D/F for large ones),
# or four and 学/警/挂/港/澳/领/试/超. Written with "·", a space or nothing after the letter.
_PLATE_CH = "A-HJ-NP-Za-hj-np-z0-9"
_PLATE = re.compile(
    rf"[{lexicon.PLATE_PROVINCES}][A-HJ-NP-Za-hj-np-z]\s?[·•・.\-]?\s?"
    rf"(?P<tail>[DFdf][{_PLATE_CH}]\d{{4}}|\d{{5}}[DFdf]|[{_PLATE_CH}]{{4}}[学警挂港澳领试超]|[{_PLATE_CH}]{{5}})"
    r"(?![A-Za-z0-9])"
)


_PLATE_HINT = re.compile(rf"[{lexicon.PLATE_PROVINCES}][A-HJ-NP-Za-hj-np-z]")


def _plausible_plate(m: re.Match) -> bool:
    # plates carry three digits or more (粤B·12345, 京AF0236); model names after 新 or 云 mostly fewer (新GT50X)
    return sum(c.isdigit() for c in m.group("tail")) >= 3


def find_licence_plates(text: str, hit: Hit) -> str:
    if _PLATE_HINT.search(text) is None:
        return text
    return _PLATE.sub(lambda m: hit() if _plausible_plate(m) else m.group(), text)


# --- postal addresses: Chinese and English -----------------------------------------------------------------

def _cjk_class(excluding: frozenset[str]) -> str:
    """A regex class of the CJK ideographs (U+4E00-U+9FFF) less ``excluding``, as ranges."""
    parts, start = [], None
    for cp in range(0x4E00, 0x9FFF + 2):
        inside = cp <= 0x9FFF and chr(cp) not in excluding
        if inside and start is None:
            start = cp
        elif not inside and start is not None:
            parts.append(chr(start) if start == cp - 1 else f"{chr(start)}-{chr(cp - 1)}")
            start = None
    return "[" + "".join(parts) + "]"


_P = _cjk_class(lexicon.CN_PLACE_STOP)  # a place-name character
_NUM_ZH = r"(?:\d{1,5}(?:[-之]\d{1,4})?|[一二三四五六七八九十百零〇]{1,4})"
_PROVINCE = "(?:" + "|".join(lexicon.CN_PROVINCES) + r")(?:省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)?"
_ADMIN = rf"(?:{_PROVINCE}|{_P}{{1,6}}?(?:市|自治州|州|盟|地区)|{_P}{{1,6}}?(?:新区|区|县|旗)|{_P}{{1,6}}?(?:镇|乡|街道))"
_ROAD_NUMBER = (rf"(?:{_P}|[A-Za-z0-9]){{1,8}}?(?:大街|大道|路|街|巷|弄|胡同|[一二三四五六七八九十]道)(?:[东西南北中]段|{_NUM_ZH}段)?"
                rf"(?:{_NUM_ZH}[弄巷])?{_NUM_ZH}号(?!线|码|机|位|床)")
_ESTATE = rf"{_P}{{2,10}}(?:小区|花园|公寓|大厦|家园|新村|社区|宿舍|大楼|广场|村|苑)"  # greedy: 金色家园小区, not 金色家园
_BUILDING = r"(?:\d{1,4}|[A-Za-z])(?:号楼|号院|栋|幢|座)|\d{1,2}单元|\d{1,3}-\d{1,3}-\d{2,4}(?:室|号)?"
_ROOM = r"\d{2,5}(?:室|号房|房|户)(?!厅)"
_UNIT = rf"(?:{_BUILDING}|{_ROOM}|\d{{1,3}}(?:楼|层)|\d{{2,5}}号|(?<=[座栋幢元])\d{{3,4}}(?![\d号]))"
_ZH_ADDRESS = re.compile(
    rf"(?:{_ADMIN}[ \u3000]?){{0,4}}"
    rf"(?:{_ROAD_NUMBER}(?:{_ESTATE}|(?:{_P}|[A-Za-z]){{0,10}}?(?={_BUILDING}|{_ROOM}))?(?:{_UNIT}){{0,5}}"  # 建国路88号 (3栋502室)
    rf"|(?:{_ESTATE})?(?:{_BUILDING}|{_ROOM})(?:{_UNIT}){{1,5}}"  # (阳光小区) 3栋2单元502室
    rf"|{_ESTATE}(?:{_UNIT}){{1,5}})"  # 阳光小区502室
)
# "地址：广东省深圳市南山区" names no road or room, but the keyword says it is an address.
_ZH_ADDRESS_LABELLED = re.compile(rf"(?:地址|住址|家住)[:：是为在]?\s*(?P<v>(?:{_ADMIN}){{2,4}})")
_ZH_ADDRESS_HINT = re.compile(r"(?:路|街|巷|弄|胡同|道)[\d一二三四五六七八九十百零〇]|[\dA-Za-z](?:号楼|栋|幢|座|单元|室)"
                              r"|(?:地址|住址|家住)|\d-\d{1,3}-\d|(?:小区|花园|公寓|大厦|家园|新村|苑)\d")

# English words end at ASCII letters and digits only (not \b): "在9928 King St行" still holds an address.
_EB, _EA = r"(?<![A-Za-z0-9])", r"(?![A-Za-z0-9])"
_EN_WORD = r"(?:[A-Z][a-z'’]+|\d{1,3}(?:st|nd|rd|th)|[A-Z]{2,}(?=\s))"
_EN_SUFFIX = (r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way|Terrace|"
              r"Parkway|Pkwy|Highway|Hwy|Circle|Cir|Square|Sq|Crescent|Plaza)")
_EN_SUFFIX_ABBR = r"(?:st|ave|rd|blvd|ln|dr)"  # lower-case words, lower-case suffix: "12 main st"
_EN_ADDRESS = re.compile(
    r"(?<![A-Za-z0-9_$£€¥.,])\d{1,6}[A-Z]?(?:-\d{1,4})?\s+"
    rf"(?:(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?\s+)?"
    rf"(?:{_EN_WORD}(?:\s+{_EN_WORD}){{0,2}}\s+{_EN_SUFFIX}{_EA}\.?"
    rf"|[a-z]+(?:\s+[a-z]+)?\s+{_EN_SUFFIX_ABBR}{_EA}\.?(?=\s*(?:$|[,.;!?)\n])))"
    r"(?:,?\s*(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl|Room|Rm|#)\.?\s*#?\s*[A-Za-z0-9\-]{1,6}(?![A-Za-z0-9]))?"
    r"(?:,\s*[A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,2}(?=\s*(?:,|\d|[A-Z]{2}(?![A-Za-z])|[A-Z]{1,2}\d|$|[.;!?)\n])))?"  # city
    r"(?:,?\s*[A-Z]{2}(?:\s+\d{5}(?:-\d{4})?)?(?![A-Za-z0-9])|,?\s+\d{5}(?:-\d{4})?(?!\d)"  # US state / ZIP
    r"|,?\s*[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}(?![A-Za-z0-9]))?"  # UK postcode
)
_PO_BOX = re.compile(r"(?<![A-Za-z0-9])(?i:p\.?\s?o\.?\s?box|post office box)\s*#?\s*\d{1,6}(?!\d)")
_EN_ADDRESS_HINT = re.compile(rf"\d[A-Za-z]?\s+\S.*?(?:{_EN_SUFFIX}|{_EN_SUFFIX_ABBR}){_EA}|(?i:box)", re.S)


def find_addresses(text: str, hit: Hit) -> str:
    if _ZH_ADDRESS_HINT.search(text) is not None:
        text = _ZH_ADDRESS.sub(lambda m: hit(), text)
        text = _replace_value(_ZH_ADDRESS_LABELLED, text, hit)
    if _EN_ADDRESS_HINT.search(text) is not None:
        text = _EN_ADDRESS.sub(lambda m: hit(), text)
        text = _PO_BOX.sub(lambda m: hit(), text)
    return text


# --- names after a salutation or in a signature ------------------------------------------------------------

_SALUTATION_ZH = re.compile("|".join(lexicon.CN_SALUTATIONS))


def _cn_name_before(text: str, end: int) -> int | None:
    """Where the name that ends at ``end`` (just before 先生/女士...) starts, or None: a surname (one or two
    characters) and up to two given-name characters; the longest such, so a full name is never half shown."""
    for length in (4, 3, 2, 1):
        start = end - length
        if start < 0:
            continue
        cand = text[start:end]
        compound = cand[:2] in lexicon.CN_COMPOUND_SURNAMES
        if not (compound or cand[0] in lexicon.CN_SURNAMES) or (length == 4 and not compound):
            continue
        given = cand[2:] if compound else cand[1:]
        if any(c in lexicon.CN_NAME_STOP or not "\u4e00" <= c <= "\u9fff" for c in given):
            continue
        if (cand[:2] in lexicon.CN_NOT_NAME_OPENINGS or text[max(0, start - 1):start + 1] in lexicon.CN_NOT_NAME_OPENINGS
                or (given and given[0] == cand[0])):
            continue
        return start
    return None


# A word stops before a URL glued to it ("Mr. Cobbhttps://t.co/..." names "Cobb", not "Cobbhttps").
_EN_NAME = r"[A-Z](?:(?!https?:)[a-z])+(?:['’\-][A-Z]?[a-z]+)?"
_EN_FULL = rf"(?P<v>{_EN_NAME}(?:\s+(?:[A-Z]\.\s*)?{_EN_NAME})?|[A-Z]\.\s?{_EN_NAME})"
_HONORIFIC = re.compile(rf"{_EB}(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s+{_EN_FULL}")
_GREETING = re.compile(rf"{_EB}(?:Dear|Hi|Hello|Hey|Hiya)\s+{_EN_FULL}(?=\s*(?:[,!:;.\n]|$))")
_SIGN_OFF = re.compile(
    _EB + r"(?i:(?:best|kind|warm|warmest)\s+regards|regards|sincerely|yours\s+(?:sincerely|truly|faithfully)"
    r"|best\s+wishes|all\s+the\s+best|respectfully|many\s+thanks|thanks|thank\s+you|cheers)"
    rf"(?:\s*[,，]\s*|\s*\n\s*){_EN_FULL}(?=\s*(?:[.!]?\s*$|\n))")
# A name after a dash at the end of the text or a line: an em dash, "--" or "~" anywhere ("Thanks — Mary"),
# "-" and "–" only after a sentence ("... soon. -Karla"), since "headline - Daily Mail" ends many tweets.
_DASH_SIGNATURE = re.compile(
    rf"(?:(?<=\s)(?:—|--|~)|(?:^|(?<=[.!?\"”)\n])\s?|(?<=[.!?\"”)]\s\s))(?:—|–|--|-|~))\s?{_EN_FULL}(?=\s*(?:$|\n))")
_EN_NAME_HINT = re.compile(r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Dear|Hi|Hello|Hey|Hiya)(?![a-z])|[—–~\-]\s?[A-Z]"
                           r"|(?i:regards|sincerely|yours|wishes|respectfully|thanks|thank you|cheers|best)")


def _sub_names(pattern: re.Pattern, text: str, hit: Hit) -> str:
    """Replace the name (``v``) of each match: none if its first word is no name ("Hi There"), only the first
    word if the second is none ("Mrs. Brown You got it")."""
    def sub(m: re.Match) -> str:
        words = m.group("v").split()
        if words[0].strip(".") in lexicon.EN_NOT_NAMES:
            return m.group()
        name = m.group("v")
        if len(words) > 1 and words[-1] in lexicon.EN_NOT_NAMES:
            name = name[:name.rindex(words[-1])].rstrip()
        start = m.start("v") - m.start()
        whole = m.group()
        return whole[:start] + hit() + whole[start + len(name):]
    return pattern.sub(sub, text)


def find_names(text: str, hit: Hit) -> str:
    if _SALUTATION_ZH.search(text) is not None:
        parts, last = [], 0
        for m in _SALUTATION_ZH.finditer(text):
            start = _cn_name_before(text, m.start())
            if start is not None and start >= last and text[start:m.end()] not in lexicon.CN_NAME_BRANDS:
                parts += [text[last:start], hit()]
                last = m.start()
        text = "".join(parts) + text[last:]
    if _EN_NAME_HINT.search(text) is not None:
        for pattern in (_HONORIFIC, _GREETING, _SIGN_OFF, _DASH_SIGNATURE):
            text = _sub_names(pattern, text, hit)
    return text


# What may_hold_pii looks for: every rule's own cheap hint (each rule checks its hint again).
_PRECHECKS = (_PRECHECK, _ZH_ADDRESS_HINT, _EN_ADDRESS_HINT, _PLATE_HINT, _SALUTATION_ZH, _EN_NAME_HINT)
