"""Script-based language detection for the two languages the pipeline serves.

``detect_language(text)`` returns ``'zh'``, ``'en'``, ``'mixed'`` or ``'other'`` from the writing system,
not from a statistical model: a Han character counts as one unit, a run of Latin letters (a word) as
one unit. With ``cjk`` and ``latin`` the two unit counts and ``other`` the count of letters of any other
script (kana, Hangul, Cyrillic, Arabic, ...; a run of them counts as one unit):

- no units at all (empty, digits, punctuation, emoji only) -> ``'other'``
- Han share >= 0.8 of all units -> ``'zh'``  (so a Chinese review citing "iPhone" or "APP" stays zh)
- Latin share >= 0.8 -> ``'en'``  (any Latin-script text; the pipeline only serves zh and en)
- Han + Latin >= 0.8 with both present -> ``'mixed'``
- otherwise ``'other'`` (Japanese with kana, Korean, Russian, ...)
"""

from __future__ import annotations

import re
import unicodedata

ZH, EN, MIXED, OTHER = "zh", "en", "mixed", "other"

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f\uff21-\uff3a\uff41-\uff5a]+")
_KANA_HANGUL = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uac00-\ud7af\u1100-\u11ff]")


def script_units(text: str) -> tuple[int, int, int]:
    """(han, latin_words, other_script_units) in ``text``."""
    if not text:
        return 0, 0, 0
    han = len(_HAN.findall(text))
    latin = len(_LATIN_WORD.findall(text))
    other = len(_KANA_HANGUL.findall(text))
    # other alphabetic scripts (Cyrillic, Greek, Arabic, Thai, ...): count runs of letters
    stripped = _LATIN_WORD.sub(" ", _HAN.sub(" ", _KANA_HANGUL.sub(" ", text)))
    in_run = False
    for ch in stripped:
        if unicodedata.category(ch).startswith("L"):
            if not in_run:
                other += 1
            in_run = True
        else:
            in_run = False
    return han, latin, other


def detect_language(text: str | None, threshold: float = 0.8) -> str:
    """'zh' | 'en' | 'mixed' | 'other' (see module doc)."""
    if text is None or not isinstance(text, str):
        return OTHER
    han, latin, other = script_units(text)
    total = han + latin + other
    if total == 0:
        return OTHER
    if han / total >= threshold:
        return ZH
    if latin / total >= threshold:
        return EN
    if han and latin and (han + latin) / total >= threshold:
        return MIXED
    return OTHER
