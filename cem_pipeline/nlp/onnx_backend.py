"""ONNX Runtime backend for the sentiment scorer: ``load_scorer(..., runtime="onnx" | "onnx-int8")``.

What runs: one ONNX graph per model, ``input_ids``, ``attention_mask`` (int64, batch x length, both
dynamic) -> ``probs`` (batch x labels; softmax in the graph). For our format (``cem-e5-head/1``) the graph
is the whole scorer: encoder, mean pooling over the mask, L2 normalisation, the MLP head (and it also
outputs the normalised ``embedding``); for a transformers sequence-classification checkpoint it is the
checkpoint's logits + softmax. Tokenization, head + tail truncation and length-sorted batching stay
:class:`cem_pipeline.nlp.batching.Batcher`'s, so both runtimes see the same ids. The modules exported
are built by :func:`e5_graph` and :func:`classifier_graph`; :func:`load_backend` exports (once) and loads one.

How it is made, once per model version (:func:`ensure_model`), offline:

1. ``torch.onnx.export`` with the TorchScript-based exporter (``dynamo=False``: it needs neither
   ``onnxscript`` nor the network), eager attention, opset 17.
2. ``onnxruntime.transformers.optimizer`` (model type ``bert``): fuses embeddings + LayerNorm, the whole
   self-attention (one ``Attention`` op per layer, its Q, K and V projections one GEMM), bias + GELU
   and residual + LayerNorm.
3. int8 (``"onnx-int8"``): ``onnxruntime.quantization.quantize_dynamic``, int8 weights per output
   channel (the word-embedding table too), uint8 activations scaled per tensor at run time; except the
   FFN output projections of the first half of the layers (:func:`keep_fp32`), which stay fp32. Their
   input is the GELU output, whose outliers make one per-tensor scale too coarse: quantizing all of them
   brought argmax agreement with fp32 down to 0.95 on the test texts; no single layer is to blame, the
   first six together are (keeping them: 0.97, accuracy within about a point on every test set;
   bench/RESULTS.md, "Sentiment").

The files live in ``<cache>/onnx/<model id>-<key>/`` next to the converted encoder (``<cache>`` is
``CEM_CACHE_DIR``, else ``~/.cache/cem``: :func:`cem_pipeline.config.cache_dir`); ``<key>`` digests the
model's files, :data:`EXPORT_VERSION` and the onnxruntime version, so a new model version or a new
recipe exports again and an unchanged one is reused. Each file is built in a temporary directory beside the cache and moved into place with
``os.replace``: a reader never sees half a file, and concurrent first uses both export and one wins.

Running: :class:`OnnxBackend` scores ``threads`` batches at once on one shared session, one thread
each; the ONNX runtimes' default batch is 8 texts (:data:`cem_pipeline.nlp.runtimes.DEFAULT_BATCH_SIZE`):
texts are sorted by length, and small batches waste less on padding. Scores from
``"onnx"`` equal the torch fp32 ones to ~1e-6. ``"onnx-int8"`` scores differ a little; its activation
scale is computed per call over the whole batch tensor, so it scores one text per call (batched, a text's
score moved with its neighbours: ``cem_pipeline.nlp.runtimes.PER_TEXT_RUNTIMES``).
"""

from __future__ import annotations

# torch, onnx and onnxruntime are imported inside the functions that use them: they are heavy, and
# onnxruntime is optional (``available()``).
import hashlib
import importlib.util
import json
import os
import re
import shutil
import sys
import tempfile
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np

from cem_pipeline import config
from cem_pipeline.nlp.encoder import check_layers, load_encoder, pooled_features
from cem_pipeline.nlp.runtimes import add_columns
from cem_pipeline.nlp.torch_backend import load_head

EXPORT_VERSION = "1"
OPSET = 17
VARIANTS = ("fp32", "int8")
FFN_OUT = re.compile(r"/layer\.(\d+)/output/dense/MatMul$")  # a layer's FFN output projection
REQUIREMENT = "onnxruntime==1.32.0 and onnx==1.23.2"


class OnnxUnavailable(ImportError):
    """onnxruntime (or onnx, which its quantizer and optimizer need) is not installed."""


def available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


def require() -> None:
    if not available():
        raise OnnxUnavailable(
            f"the ONNX Runtime sentiment backend needs {REQUIREMENT} (`pip install -e .` installs them); "
            "or choose the PyTorch runtime: CEM_SENTIMENT_RUNTIME=torch")


def _file_identity(path: Path) -> str:
    st = path.stat()
    return f"{path.name}:{st.st_size}:{st.st_mtime_ns}"


def cache_key(files: list[Path], extra: dict) -> str:
    """Digest of the model's files (name, size, mtime), the recipe and the onnxruntime version."""
    import onnxruntime

    h = hashlib.sha256()
    for f in sorted(files):
        if f.is_file():
            h.update(_file_identity(f).encode())
    h.update(json.dumps({**extra, "export": EXPORT_VERSION, "onnxruntime": onnxruntime.__version__,
                         "keep_fp32": "first-half FFN out"}, sort_keys=True).encode())
    return h.hexdigest()[:12]


def onnx_cache_root() -> Path:
    return config.cache_dir() / "onnx"


def _export_graph(module, out: Path, outputs: list[str]) -> None:
    """TorchScript-based export of ``module(input_ids, attention_mask) -> outputs`` with dynamic batch and length."""
    import warnings

    import torch

    ids = torch.tensor([[0, 5, 6, 7, 2], [0, 8, 2, 1, 1]], dtype=torch.long)
    mask = (ids != 1).long()
    axes = {"input_ids": {0: "batch", 1: "length"}, "attention_mask": {0: "batch", 1: "length"}}
    axes.update({name: {0: "batch"} for name in outputs})
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (ids, mask), str(out), dynamo=False, opset_version=OPSET,
                          input_names=["input_ids", "attention_mask"], output_names=outputs,
                          dynamic_axes=axes, do_constant_folding=True)


def _optimize(src: Path, dst: Path, num_heads: int, hidden_size: int) -> dict:
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions

    model = optimizer.optimize_model(str(src), model_type="bert", num_heads=num_heads, hidden_size=hidden_size,
                                     optimization_options=FusionOptions("bert"), opt_level=0, use_gpu=False)
    model.save_model_to_file(str(dst))
    return {k: v for k, v in model.get_fused_operator_statistics().items() if v}


def keep_fp32(node_names, n_layers: int) -> list[str]:
    """The MatMuls that int8 leaves in fp32: the FFN output projections of the first half of the layers."""
    first_half = (n_layers + 1) // 2
    return [name for name in node_names if (m := FFN_OUT.search(name)) and int(m.group(1)) < first_half]


def _quantize(src: Path, dst: Path, n_layers: int) -> list[str]:
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(src), load_external_data=False).graph
    keep = keep_fp32([n.name for n in graph.node if n.op_type == "MatMul"], n_layers)
    logging.disable(logging.WARNING)  # "Please consider to run pre-processing": not for dynamic quantization
    try:
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=keep,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        logging.disable(logging.NOTSET)
    return keep


def _remove_stale_temps(directory: Path, older_than_s: float = 3600) -> None:
    """Temp dirs of exports that were killed midway (a live export is minutes old at most)."""
    import time

    for p in directory.glob(".tmp-*"):
        try:
            if time.time() - p.stat().st_mtime > older_than_s:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def ensure_model(name: str, key: str, variant: str, build_module: Callable, outputs: list[str], model_config: dict,
                 log=None) -> Path:
    """The cached ONNX file for ``variant`` (``fp32`` or ``int8``), exported on first use.

    ``build_module()`` returns the torch module to export (called only on a cache miss); ``model_config`` is its
    BERT config (``num_attention_heads``, ``hidden_size``, ``num_hidden_layers``)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown ONNX variant {variant!r}; one of {VARIANTS}")
    require()
    target_dir = onnx_cache_root() / f"{name}-{key}"
    target = target_dir / f"model-{variant}.onnx"
    if target.is_file():
        return target
    target_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(target_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{variant}-", dir=target_dir))
    try:
        if log:
            log(f"exporting {name} to ONNX ({variant}) into {target_dir} (once per model version)")
        _export_graph(build_module(), tmp / "exported.onnx", outputs)
        fused = _optimize(tmp / "exported.onnx", tmp / "fp32.onnx", model_config["num_attention_heads"], model_config["hidden_size"])
        info = {"name": name, "key": key, "variant": variant, "export_version": EXPORT_VERSION, "fused": fused}
        if variant == "int8":
            info["kept_fp32"] = _quantize(tmp / "fp32.onnx", tmp / "int8.onnx", model_config["num_hidden_layers"])
        os.replace(tmp / f"{variant}.onnx", target)
        (tmp / "info.json").write_text(json.dumps(info, indent=2))
        os.replace(tmp / "info.json", target_dir / f"model-{variant}.json")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def session(path: Path, threads: int = 1):
    """A CPU InferenceSession with ``threads`` intra-op threads."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle intra-op threads sleep instead of spinning: on a CPU shared with other work spinning burns the
    # cycles the other threads need.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


class OnnxBackend:
    """Runs the exported graph on length-sorted, per-batch-padded ids (see :class:`cem_pipeline.nlp.batching.Batcher`).

    ``threads`` batches run at once, each on one thread of one shared session (ONNX Runtime sessions may
    be run from several threads): with small batches this beats one batch at a time on ``threads``
    intra-op threads, which synchronise after every op (bench/RESULTS.md, "Sentiment")."""

    def __init__(self, batcher, path: Path, threads: int | None = None, columns=(0, 1, 2)):
        self.batcher = batcher
        self.path = Path(path)
        self.workers = max(1, threads or len(os.sched_getaffinity(0)))
        self.session = session(self.path, 1)
        self.columns = list(columns)

    def _run(self, batch):
        idx, input_ids, mask = batch
        return idx, self.session.run(["probs"], {"input_ids": input_ids, "attention_mask": mask})[0]

    def probs_ids(self, ids, batch_size: int, progress=None) -> np.ndarray:
        out = np.zeros((len(ids), 3), dtype=np.float32)
        batches = self.batcher.batches(ids, batch_size)
        if self.workers == 1:
            results = map(self._run, batches)
        else:
            pool = ThreadPoolExecutor(self.workers, thread_name_prefix="onnx-sentiment")
            results = _bounded_map(pool, self._run, batches, 4 * self.workers)
        try:
            for idx, probs in results:
                add_columns(out, idx, probs, self.columns)
                if progress is not None:
                    progress(len(idx))
        finally:
            if self.workers > 1:
                pool.shutdown(cancel_futures=True)
        return out


def _bounded_map(pool: ThreadPoolExecutor, fn, items, ahead: int):
    """``pool.map(fn, items)`` in order, with at most ``ahead`` items submitted and not yet consumed."""
    pending: deque = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


# ----------------------------------------------------------------------------- the modules exported

def _eager(model):
    """Plain (eager) attention: the form ONNX Runtime's attention fusion recognises."""
    model.set_attn_implementation("eager")
    return model


def e5_graph(enc_path: Path, path: Path, meta: dict):
    """The whole scorer as one module: (input_ids, mask) -> (pooled features, probs)."""
    import torch

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


def classifier_graph(path: Path):
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


def load_backend(batcher, name: str, files: list[Path], model_config: dict, variant: str, build, outputs: list[str],
                 threads: int | None, columns=(0, 1, 2)) -> OnnxBackend:
    """An :class:`OnnxBackend` on the cached export of ``build()`` (exported on first use; see :func:`ensure_model`)."""
    key = cache_key(files, {"outputs": outputs})
    onnx_path = ensure_model(name, key, variant, build, outputs, model_config, log=lambda m: print(m, file=sys.stderr))
    return OnnxBackend(batcher, onnx_path, threads, columns)
