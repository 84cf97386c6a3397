"""Sentiment for the CEM pipeline (zh / en): encoder conversion, training, scoring, language detection,
call-level aggregation. Pure Python, no Dagster.

Public API::

    from cem_pipeline.nlp import (
        build_sentiment_model, ModelInfo,         # train / reuse a versioned model dir
        load_scorer, SentimentScorer, Score,      # score texts
        detect_language, call_sentiment, CallSentiment,
    )

Heavy imports (torch, transformers) happen lazily inside the functions that need them.
"""

from cem_pipeline.nlp.calls import CallSentiment, call_sentiment
from cem_pipeline.nlp.language import detect_language

__all__ = [
    "CallSentiment", "call_sentiment", "detect_language",
    "build_sentiment_model", "ModelInfo", "load_scorer", "SentimentScorer", "Score",
]


def __getattr__(name):
    if name in ("build_sentiment_model", "ModelInfo"):
        from cem_pipeline.nlp import model

        return getattr(model, name)
    if name in ("load_scorer", "SentimentScorer", "Score"):
        from cem_pipeline.nlp import scoring

        return getattr(scoring, name)
    raise AttributeError(name)
