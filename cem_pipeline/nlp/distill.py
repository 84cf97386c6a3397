"""The ``fast`` configuration's distillation: a student cut from a fine-tuned teacher, and the teacher's
probabilities it learns to match.

The teacher is the latest built model of config ``teacher`` (``full`` by default; or a model directory
given as the ``teacher`` override). The student is made of the teacher's embeddings and first
``keep_layers`` of its transformer layers (the bottom layers carry over best), then fine-tuned by
:func:`cem_pipeline.nlp.training.finetune` on the same texts to match the teacher's probabilities
(temperature ``T``) and the labels: ``(1 - w) * cross-entropy(labels) + w * T^2 * KL(teacher || student)``.
A third of the encoder's compute per text with 4 of 12 layers, for throughput; bench/RESULTS.md gives
what it costs in accuracy.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd

from cem_pipeline.nlp.encoder import bf16_supported, load_encoder
from cem_pipeline.nlp.registry import latest_model_dir
from cem_pipeline.nlp.torch_backend import E5HeadBackend, load_head
from cem_pipeline.nlp.training import CONFIGS, EmbeddingCache


def teacher_dir(teacher: str, out_dir: Path) -> Path:
    """The teacher model's directory: the latest built model of config ``teacher``, or a path."""
    path = latest_model_dir(out_dir, teacher) if teacher in CONFIGS else Path(teacher)
    if path is None or not (path / "model.json").is_file() or not (path / "encoder").is_dir():
        raise FileNotFoundError(
            f"the 'fast' sentiment model is distilled from a fine-tuned teacher ({teacher!r}), and none was found "
            f"under {out_dir}: build it first (`cem sentiment build --config full`, about 45 min on 2 CPU cores), "
            "or pass the teacher's model directory as the 'teacher' override")
    return path


def student_and_targets(teacher_dir: Path, train: pd.DataFrame, cfg: dict):
    """(tokenizer, student encoder, teacher probabilities on the training texts). The student is the
    teacher's encoder cut to its first ``keep_layers`` layers: the bottom layers carry over best."""
    meta = json.loads((teacher_dir / "model.json").read_text())
    tokenizer, teacher = load_encoder(teacher_dir / "encoder")
    backend = E5HeadBackend(tokenizer, teacher, load_head(teacher_dir, meta), meta.get("prefix", "query: "),
                            cfg["max_tokens"], layers=meta.get("layers"), bf16=bf16_supported())
    emb = EmbeddingCache(backend, teacher_dir.name).embed(train["text"].tolist(), 64, "teacher")
    probs = backend.probs_from_embeddings(emb)
    student = copy.deepcopy(teacher)
    keep = int(cfg["keep_layers"])
    if not 1 <= keep <= student.config.num_hidden_layers:
        raise ValueError(f"keep_layers={keep}: the teacher has {student.config.num_hidden_layers} layers")
    student.encoder.layer = student.encoder.layer[:keep]
    student.config.num_hidden_layers = keep
    return tokenizer, student, probs
