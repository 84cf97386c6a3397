"""What every sentiment runtime shares: the runtime names, their default batch sizes and version
suffixes, and how a model's outputs map onto our (negative, neutral, positive) columns.

A leaf module (stdlib only): :mod:`cem_pipeline.config` validates ``CEM_SENTIMENT_RUNTIME`` against
:data:`RUNTIMES`, and the torch and ONNX backends both fill their probabilities with :func:`add_columns`.

- ``torch``: PyTorch fp32 (the library's default); ``torch-int8``: torch dynamic int8;
- ``onnx``: ONNX Runtime fp32 (the same scores as torch); ``onnx-int8``: ONNX Runtime dynamic int8
  (:mod:`cem_pipeline.nlp.onnx_backend`), the fastest on CPU;
- ``auto``: ``onnx-int8`` for our models when onnxruntime is installed, else ``torch``
  (:func:`cem_pipeline.nlp.scoring.resolve_runtime`).
"""

from __future__ import annotations

AUTO = "auto"
RUNTIMES = ("torch", "torch-int8", "onnx", "onnx-int8")
# The int8 runtimes' scores differ slightly from fp32, so they get a version of their own (the "t": scored
# one text per call, below; their batched scores of before had "-q8" / "-oq8").
VERSION_SUFFIX = {"torch": "", "torch-int8": "-q8t", "onnx": "", "onnx-int8": "-oq8t"}
# Texts per batch when the caller names none. ONNX: small batches of length-sorted texts pad less and
# run in parallel (one per thread); measured fastest on review-length text (bench/RESULTS.md).
DEFAULT_BATCH_SIZE = {"torch": 32, "torch-int8": 32, "onnx": 8, "onnx-int8": 8}
# Dynamic int8 quantization scales the activations per call, over the whole batch tensor: batched, a
# text's score moved with the texts beside it (up to 0.5 on the demo model, 4% of labels; the same text got
# another score on Spark than on DuckDB, and on a rescoring). These runtimes score one text per call, so a
# score is the text's own; the ONNX one lost ~8% throughput (100 -> 92 texts/s on 2 cores, 2 threads).
PER_TEXT_RUNTIMES = ("torch-int8", "onnx-int8")


def batch_size_for(runtime: str, requested: int | None) -> int:
    """The batch a runtime scores with: the request or the runtime's default; 1 for the int8 runtimes."""
    return 1 if runtime in PER_TEXT_RUNTIMES else (requested or DEFAULT_BATCH_SIZE[runtime])


def onnx_variant(runtime: str) -> str:
    """The ONNX file a runtime runs: ``int8`` or ``fp32``."""
    return "int8" if runtime.endswith("int8") else "fp32"


def add_columns(out, idx, probs, columns) -> None:
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
