"""The model registry: how built sentiment models are named, versioned, found and chosen on disk.

A built model is a directory ``<root>/<MODEL_NAME>-<config>-<version>/`` (``root``:
:func:`cem_pipeline.config.model_root`) holding ``model.json`` (format :data:`MODEL_FORMAT`, labels,
encoder, settings, version inputs), ``head.safetensors`` (+ ``encoder/`` for full and fast) and
``eval.json``. ``version`` (:func:`model_version`) is a digest of the config, the seed, the labelled data
files, :data:`CODE_VERSION` and the encoder converter's version: an existing complete directory with the
same version is reused, not retrained.

``<root>/CURRENT.json`` names the model the pipeline scores with: the ``sentiment_model`` asset writes it
(:func:`set_current_model`), the scoring asset and ``cem sentiment score`` read it
(:func:`current_model_dir`). Any local transformers checkpoint (``config.json``) may stand in for one of
ours; :func:`model_identity` gives the (name, version) a scorer would report for either kind without
loading weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from cem_pipeline import config
from cem_pipeline.nlp.data import DATASET_BY_NAME, DATASETS
from cem_pipeline.nlp.encoder import CONVERTER_VERSION

MODEL_FORMAT = "cem-e5-head/1"
MODEL_NAME = "cem-sentiment-e5small"
CODE_VERSION = "1"
CURRENT_FILE = "CURRENT.json"
# The files of a transformers checkpoint whose identity stands for its version.
WEIGHT_FILES = ("config.json", "model.safetensors", "pytorch_model.bin")


@dataclass
class ModelInfo:
    """What :func:`cem_pipeline.nlp.build.build_sentiment_model` built (or reused)."""

    name: str
    version: str
    path: Path
    config: dict
    train_sets: list[str]
    n_train: int
    n_validation: int
    metrics: dict = field(default_factory=dict)
    build_seconds: float = 0.0
    reused: bool = False

    @property
    def model_id(self) -> str:
        return f"{self.name}-{self.version}"


def _data_digest(data_dir: Path, names) -> str:
    h = hashlib.sha256()
    for name in sorted(names):
        f = Path(data_dir) / DATASET_BY_NAME[name].file
        if f.is_file():
            h.update(name.encode())
            h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def model_version(cfg: dict, data_dir: Path, seed: int) -> str:
    payload = json.dumps({"cfg": cfg, "seed": seed, "code": CODE_VERSION, "converter": CONVERTER_VERSION,
                          "data": _data_digest(data_dir, [d.name for d in DATASETS])}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:10]


def checkpoint_digest(path: Path) -> str:
    """A transformers checkpoint's version: a digest of its weight files' names, sizes and mtimes."""
    h = hashlib.sha256()
    for name in WEIGHT_FILES:
        f = path / name
        if f.is_file():
            st = f.stat()
            h.update(f"{name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:10]


def model_identity(model_dir: str | Path) -> tuple[str, str]:
    """(model_name, model_version) that :func:`cem_pipeline.nlp.scoring.load_scorer` would give for
    ``model_dir`` (without quantization), read without loading any weights."""
    path = Path(model_dir)
    meta_file = path / "model.json"
    if meta_file.is_file():
        meta = json.loads(meta_file.read_text())
        return meta["name"], meta["version"]
    if (path / "config.json").is_file():
        return path.name, checkpoint_digest(path)
    raise ValueError(f"{path} is neither a cem sentiment model (model.json) nor a transformers checkpoint (config.json)")


def set_current_model(path: str | Path, model_id: str, root: str | Path | None = None) -> Path:
    """Record ``path`` as the model the pipeline scores with (``<root>/CURRENT.json``; the
    ``sentiment_model`` asset writes it, the scoring asset and ``cem sentiment score`` read it)."""
    root = Path(root or config.model_root())
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{CURRENT_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps({"path": str(Path(path).resolve()), "model_id": model_id,
                               "set_at": time.strftime("%Y-%m-%dT%H:%M:%S")}, indent=2))
    os.replace(tmp, root / CURRENT_FILE)
    return root / CURRENT_FILE


def current_model_dir(root: str | Path | None = None) -> Path | None:
    """The model last set by :func:`set_current_model` under ``root`` (None if none or gone)."""
    f = Path(root or config.model_root()) / CURRENT_FILE
    if not f.is_file():
        return None
    path = Path(json.loads(f.read_text())["path"])
    return path if path.is_dir() else None


def latest_model_dir(root: str | Path | None = None, config_name: str = "demo") -> Path | None:
    """Most recently built model dir for a build config under ``root`` (None if none)."""
    root = Path(root or config.model_root())
    dirs = sorted((p for p in root.glob(f"{MODEL_NAME}-{config_name}-*") if (p / "model.json").is_file()),
                  key=lambda p: p.stat().st_mtime)
    return dirs[-1] if dirs else None
