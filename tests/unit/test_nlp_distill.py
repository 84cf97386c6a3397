"""The ``fast`` sentiment config: knowledge distillation of a fine-tuned teacher into its first layers.

The teacher here is a tiny random model in our format (tests/support/ml.py: a 2-layer, 32-wide encoder and
a head with decisive labels), so the whole build takes seconds; the training texts are the permissive sets in
``../shared/data`` (these tests skip without them)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tests.support.ml import tiny_e5_model
from tests.unit.test_nlp_sentiment import DATA_DIR, needs_data

os.environ.setdefault("CEM_NO_PROGRESS", "1")

TINY = dict(keep_layers=1, train_cap_per_set=80, val_cap_per_set=10, test_cap_per_set=10, max_tokens=64,
            epochs=20, lr=1e-3, head_lr=1e-2, batch_size=16, distill_weight=1.0, temperature=1.0)


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    return tiny_e5_model(tmp_path_factory.mktemp("teacher") / "model", n_layers=2)


@needs_data
def test_student_learns_the_teachers_probabilities(teacher, tmp_path):
    """Pure distillation (no label loss): the student, the teacher's first layer with a fresh head, ends up
    with the teacher's probabilities on texts it was trained on and on test texts it never saw."""
    from cem_pipeline.nlp.build import build_sentiment_model
    from cem_pipeline.nlp.training import select_splits
    from cem_pipeline.nlp.scoring import load_scorer

    info = build_sentiment_model(DATA_DIR, tmp_path, "fast", overrides=dict(TINY, teacher=str(teacher)),
                                 log=lambda m: None)
    meta = json.loads((info.path / "model.json").read_text())
    assert meta["encoder"] == "local" and meta["config"] == "fast"
    assert meta["settings"]["teacher_model"] == teacher.name
    assert json.loads((teacher / "encoder" / "config.json").read_text())["num_hidden_layers"] == 2
    assert json.loads((info.path / "encoder" / "config.json").read_text())["num_hidden_layers"] == 1
    from safetensors import safe_open

    with safe_open(str(info.path / "encoder" / "model.safetensors"), "pt") as weights:
        assert not any(".layer.1." in k for k in weights.keys()) and any(".layer.0." in k for k in weights.keys())

    train, _, test = select_splits(DATA_DIR, info.config, 7)
    teacher_scorer = load_scorer(teacher)
    # the same student untrained (a fresh head): how far from the teacher distillation started
    untrained = build_sentiment_model(DATA_DIR, tmp_path / "untrained", "fast",
                                      overrides=dict(TINY, teacher=str(teacher), max_steps=1, lr=0.0, head_lr=0.0),
                                      log=lambda m: None)
    for texts in (train["text"].tolist(), test["text"].tolist()):
        gap = gap_to(teacher_scorer, load_scorer(info.path), texts)
        start = gap_to(teacher_scorer, load_scorer(untrained.path), texts)
        assert gap <= 0.05 and gap <= start / 3, (gap, start)


def gap_to(teacher, student, texts) -> float:
    """Mean |difference| of the two models' class probabilities over ``texts``. (The tiny random teacher
    calls nearly every text positive, with P(positive) from about 0.5 to 0.9: it is its probabilities,
    not its labels, that the student must reproduce.)"""
    return float(np.abs(teacher.predict_proba(texts) - student.predict_proba(texts)).mean())


def test_fast_without_a_teacher_says_what_to_build(tmp_path):
    from cem_pipeline.nlp.build import build_sentiment_model

    with pytest.raises(FileNotFoundError, match="--config full"):
        build_sentiment_model(tmp_path / "data", tmp_path / "models", "fast", log=lambda m: None)


def test_layer_choices_are_checked():
    from cem_pipeline.nlp.encoder import check_layers

    assert check_layers(None, 12) is None and check_layers([8, 12], 12) == (8, 12)
    with pytest.raises(ValueError, match="0..12"):
        check_layers([13], 12)


def test_balance_weights():
    import pandas as pd

    from cem_pipeline.nlp.training import balance_weights

    sets = pd.Series(["big"] * 400 + ["small"] * 100)
    w = balance_weights(sets, 0.5)
    assert np.isclose(w.mean(), 1.0)
    assert np.isclose(w[-1] / w[0], 2.0)  # (400 / 100) ** 0.5
    assert np.allclose(balance_weights(sets, 0.0), 1.0)
