"""Sentences and the bilingual topic taxonomy (aspect tagging).

Design (DESIGN.md §1: "sentiment per topic mention is computed on the sentence that mentions it"):

- :func:`split_sentences` is the one sentence splitter. The scoring asset
  (:mod:`cem_pipeline.nlp.store`) splits every text with it and scores each sentence, writing
  ``ml.sentence_scores`` (one row per sentence, with its text and its own score; a one-sentence text reuses
  the text's score instead of being scored twice).
- The taxonomy is the dbt seed ``dbt_project/seeds/topic_taxonomy.csv`` (topic, topic_zh, language,
  keyword) that analysts edit. Matching happens in dbt (``int_topic_mentions``) against the scored
  sentences, so editing the seed takes effect on the next dbt build without rescoring anything.
  :func:`find_topics` is the same matching rule in Python (for tests, the CLI and notebooks):
  case-insensitive; Chinese keywords match as substrings; English keywords match as whole words, with an
  optional plural ``s``/``es`` (so ``app`` matches "apps" but not "happy" or "apple").

Sentence boundaries: a run of ``。！？!?`` or of line breaks ends a sentence; a ``.`` ends one only
when followed by whitespace or the end of the text (so ``3.5`` and ``example.com`` stay whole). Closing
quotes / brackets right after the terminator stay with the sentence. Pieces without any letter or digit
(emoji, stray punctuation) are dropped.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

_BOUNDARY = re.compile(r"(?:[。！？!?]+|\.+(?=\s|$))[\"'”’」』）)\]]*|\n+")
_WORDY = re.compile(r"\w")

TAXONOMY_FILE = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "topic_taxonomy.csv"


def split_sentences(text: str | None) -> list[str]:
    """The sentences of ``text`` in order, stripped; [] for empty text."""
    if not text or not isinstance(text, str):
        return []
    out, start = [], 0
    for m in _BOUNDARY.finditer(text):
        out.append(text[start : m.end()])
        start = m.end()
    out.append(text[start:])
    return [s.strip() for s in out if _WORDY.search(s)]


@dataclass(frozen=True)
class TopicKeyword:
    topic: str
    topic_zh: str
    language: str
    keyword: str


def load_taxonomy(path: str | Path | None = None) -> list[TopicKeyword]:
    """The seed's rows (blank keywords skipped)."""
    with open(path or TAXONOMY_FILE, newline="", encoding="utf-8") as f:
        return [TopicKeyword(r["topic"].strip(), r["topic_zh"].strip(), r["language"].strip(), r["keyword"].strip().lower())
                for r in csv.DictReader(f) if r.get("keyword", "").strip()]


def keyword_pattern(keyword: str, language: str) -> re.Pattern:
    """The regex ``int_topic_mentions`` uses for one keyword (see the module doc)."""
    kw = re.escape(keyword.lower())
    return re.compile(kw if language == "zh" else rf"\b{kw}(s|es)?\b")


def find_topics(sentence: str, taxonomy: Iterable[TopicKeyword] | None = None) -> dict[str, list[str]]:
    """{topic: [matched keywords]} for one sentence."""
    text = (sentence or "").lower()
    found: dict[str, list[str]] = {}
    for k in taxonomy if taxonomy is not None else load_taxonomy():
        if keyword_pattern(k.keyword, k.language).search(text):
            found.setdefault(k.topic, []).append(k.keyword)
    return found
