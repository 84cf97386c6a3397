"""The ONNX Runtime sentiment backend (cem_pipeline/nlp/onnx_backend.py): same labels as the torch path,
the export cached once per model version, runtime selection and its fallback.

Fast tests use two tiny random models (milliseconds to score, seconds to export): the tiny transformers
checkpoint of tests/support/ml.py and a tiny model in our own format (``cem-e5-head/1`` with a local
1-layer encoder), exported into a per-session cache directory. The real small model of
tests/unit/test_nlp_sentiment.py (needs ../shared/data) checks labels on the labelled clear cases.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest

from tests.support.ml import tiny_e5_model, tiny_sentiment_model
from tests.unit.test_nlp_sentiment import clear_cases, needs_data, small_model  # noqa: F401  (fixture)

pytest.importorskip("onnxruntime")

TEXTS = ["太差了，再也不买了", "Absolutely love it, works perfectly!", "质量很好 great quality 很满意", "meh",
         "The battery died after two days, very disappointed. " * 3, "送货很快，非常满意", "一般般吧", "ok"]


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cem-cache")


@pytest.fixture
def onnx_cache(session_cache, monkeypatch) -> Path:
    """CEM_CACHE_DIR for the duration of one test: a directory of this session's own, so that the tiny
    models' exports are made (and reused) here. Request it after the tiny model fixtures."""
    monkeypatch.setenv("CEM_CACHE_DIR", str(session_cache))
    return session_cache


@pytest.fixture(scope="session")
def tiny_e5(tmp_path_factory) -> Path:
    return tiny_e5_model(tmp_path_factory.mktemp("tiny-e5") / "model")


@pytest.fixture(scope="session")
def tiny_e5_layers(tmp_path_factory) -> Path:
    """The same with a head over the pools of hidden states 0 and 1, concatenated (the demo's multi-layer form)."""
    return tiny_e5_model(tmp_path_factory.mktemp("tiny-e5-layers") / "model", layers=[0, 1])


@pytest.fixture(scope="session")
def tiny_hf() -> Path:
    return tiny_sentiment_model()


@pytest.mark.parametrize("kind", ["tiny_e5", "tiny_e5_layers", "tiny_hf"])
@pytest.mark.parametrize("runtime", ["onnx", "onnx-int8"])
def test_onnx_scores_like_torch(tiny_e5, tiny_e5_layers, tiny_hf, onnx_cache, kind, runtime):
    from cem_pipeline.nlp.scoring import load_scorer

    path = {"tiny_e5": tiny_e5, "tiny_e5_layers": tiny_e5_layers, "tiny_hf": tiny_hf}[kind]
    ref = load_scorer(path, batch_size=3)
    got = load_scorer(path, batch_size=3, runtime=runtime)
    assert got.runtime == runtime and got.backend.path.is_relative_to(onnx_cache / "onnx")
    p_ref, p_got = ref.predict_proba(TEXTS), got.predict_proba(TEXTS)
    if runtime == "onnx":  # the same model in fp32: the same numbers
        assert got.model_version == ref.model_version
        assert np.allclose(p_ref, p_got, atol=1e-4)
    else:
        assert got.model_version == ref.model_version + "-oq8t"
        assert np.abs(p_ref - p_got).max() < 0.05
    assert (p_ref.argmax(1) == p_got.argmax(1)).all()
    scores = got.score(TEXTS + ["", None])
    assert [s.label for s in scores[:-2]] == [s.label for s in ref.score(TEXTS)]
    assert scores[-2].label is None and scores[-1].score is None


def test_export_cached_once_per_model_version(tiny_hf, onnx_cache, tmp_path, monkeypatch):
    """Exported offline on first use, then reused; a changed model exports again beside the old one."""
    from cem_pipeline.nlp import onnx_backend
    from cem_pipeline.nlp.scoring import load_scorer

    tiny_e5 = tiny_e5_model(tmp_path / "model")  # its own copy: this test changes it

    def no_network(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)  # the export is offline
    calls = []
    real_export = onnx_backend._export_graph
    monkeypatch.setattr(onnx_backend, "_export_graph", lambda *a, **k: (calls.append(a[1]), real_export(*a, **k)))
    first = load_scorer(tiny_e5, runtime="onnx-int8").backend.path
    stat = first.stat()
    second = load_scorer(tiny_e5, runtime="onnx-int8").backend.path
    assert second == first and second.stat().st_mtime_ns == stat.st_mtime_ns  # reused, not rewritten
    assert len(calls) == 1
    meta = json.loads((first.parent / "model-int8.json").read_text())
    assert meta["variant"] == "int8" and meta["fused"].get("Attention") == 1  # the BERT fusions happened
    assert meta["kept_fp32"] == ["/encoder/encoder/layer.0/output/dense/MatMul"]
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".tmp")]  # no leftovers

    # a new model version (here: a retrained head) exports again, into its own directory
    head = tiny_e5 / "head.safetensors"
    os.utime(head, ns=(stat.st_atime_ns, head.stat().st_mtime_ns + 10**9))
    n = len(calls)
    third = load_scorer(tiny_e5, runtime="onnx-int8").backend.path
    assert third.parent != first.parent and len(calls) == n + 1 and first.is_file()


def test_runtime_selection_and_fallback(tiny_e5, tiny_hf, monkeypatch):
    import warnings

    from cem_pipeline.config import ConfigError, sentiment_runtime
    from cem_pipeline.nlp import onnx_backend
    from cem_pipeline.nlp.scoring import load_scorer, resolve_runtime

    assert resolve_runtime(None) == "torch" and resolve_runtime(None, quantize=True) == "torch-int8"
    assert resolve_runtime("auto") == "onnx-int8" and resolve_runtime("auto", ours=False) == "torch"
    assert resolve_runtime(" ONNX ") == "onnx"
    with pytest.raises(ValueError, match="unknown sentiment runtime"):
        resolve_runtime("tensorrt")
    with pytest.raises(ValueError, match="quantize=True"):
        resolve_runtime("onnx", quantize=True)
    assert sentiment_runtime({}) == "auto" and sentiment_runtime({"CEM_SENTIMENT_RUNTIME": "Torch-INT8"}) == "torch-int8"
    with pytest.raises(ConfigError, match="CEM_SENTIMENT_RUNTIME"):
        sentiment_runtime({"CEM_SENTIMENT_RUNTIME": "fast"})

    monkeypatch.setattr(onnx_backend, "available", lambda: False)
    with pytest.warns(UserWarning, match="onnxruntime is not installed"):
        assert load_scorer(tiny_e5, runtime="auto").runtime == "torch"
    with pytest.raises(onnx_backend.OnnxUnavailable, match="onnxruntime==1.32.0"):
        load_scorer(tiny_e5, runtime="onnx-int8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_scorer(tiny_hf, runtime="auto").runtime == "torch"  # other checkpoints: torch, silently


def test_cli_defaults_to_onnx_int8(tiny_e5, onnx_cache, tmp_path, monkeypatch):
    import pandas as pd

    from cem_pipeline.nlp.cli import score_file

    src = tmp_path / "in.csv"
    pd.DataFrame({"text": TEXTS}).to_csv(src, index=False)
    monkeypatch.delenv("CEM_SENTIMENT_RUNTIME", raising=False)
    auto = score_file(src, tmp_path / "auto.csv", model_dir=tiny_e5, progress=False)
    assert auto["runtime"] == "onnx-int8" and auto["model"] == "tiny-e5-head-t1-oq8t"
    monkeypatch.setenv("CEM_SENTIMENT_RUNTIME", "torch")
    torch_run = score_file(src, tmp_path / "torch.csv", model_dir=tiny_e5, progress=False)
    assert torch_run["runtime"] == "torch" and torch_run["model"] == "tiny-e5-head-t1"
    a, b = pd.read_csv(tmp_path / "auto.csv"), pd.read_csv(tmp_path / "torch.csv")
    assert a["sentiment_label"].tolist() == b["sentiment_label"].tolist()


@needs_data
def test_onnx_int8_labels_on_labelled_clear_cases(small_model):
    """The real encoder (exported once into the default cache, then reused): int8 gives almost all of
    torch's labels and the same accuracy. (fp32 ONNX = torch is shown on the tiny models above.)"""
    from cem_pipeline.nlp.scoring import load_scorer

    cases = clear_cases()
    texts, truth = cases["text"].tolist(), cases["label"].to_numpy()
    labels = {}
    for runtime in ("torch", "onnx-int8"):
        scores = load_scorer(small_model.path, batch_size=16, runtime=runtime).score(texts)
        labels[runtime] = np.array(["positive" if s.score >= 0 else "negative" for s in scores])
    assert (labels["onnx-int8"] == labels["torch"]).mean() >= 0.95
    assert (labels["onnx-int8"] == truth).mean() >= (labels["torch"] == truth).mean() - 0.05


@pytest.mark.parametrize("runtime", ["onnx-int8", "torch-int8"])
def test_an_int8_score_does_not_depend_on_the_texts_beside_it(small_model, runtime):
    """Dynamic int8 scales activations per call: batched, the same text scored differently beside other
    texts (and so on Spark's partitions vs DuckDB's one list). One text per call makes it the text's own."""
    from cem_pipeline.nlp.scoring import load_scorer

    texts = ["快递太慢了，等了一周才到", "Great product, arrived on time!", "还行吧，一般般",
             "I waited two weeks and still no update on my order, which is really frustrating"]
    scorer = load_scorer(small_model.path, batch_size=16, runtime=runtime)
    together = [s.score for s in scorer.score(texts)]
    alone = [scorer.score([t])[0].score for t in texts]
    shuffled = [s.score for s in scorer.score(texts[::-1])][::-1]
    # (equal but for the last rounded digit: the batched drift was of order 0.1)
    assert together == pytest.approx(alone, abs=2e-6) and shuffled == pytest.approx(alone, abs=2e-6)
