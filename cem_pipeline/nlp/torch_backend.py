"""The PyTorch runtimes (``torch``, ``torch-int8``): the model objects that turn token ids into class
probabilities.

- :class:`E5HeadBackend`: our format (``cem-e5-head/1``): the e5 encoder, L2-normalised mean pools (of
  the last layer, or of each listed layer, concatenated) and a small classification head
  (:func:`make_head`, saved as ``head.safetensors``, loaded by :func:`load_head`). Training uses it too,
  for the frozen encoder's features and for validation.
- :class:`HFSequenceBackend`: any local transformers sequence-classification checkpoint.
- :func:`quantize_encoder`: torch dynamic int8 on the Linear layers (``torch-int8``).

torch is imported inside the functions that run it, so importing this module (and the scorer) stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from cem_pipeline.nlp.batching import Batcher
from cem_pipeline.nlp.data import LABELS
from cem_pipeline.nlp.encoder import check_layers, pooled_features
from cem_pipeline.nlp.runtimes import add_columns, label_columns


def make_head(dim: int, hidden: int, n_classes: int = 3, dropout: float = 0.1):
    import torch.nn as nn

    if hidden <= 0:
        return nn.Linear(dim, n_classes)
    return nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, n_classes))


def load_head(path: Path, meta: dict):
    """The classification head of one of our model directories, in eval mode."""
    from safetensors.torch import load_file

    head = make_head(meta["dim"], meta["hidden"], len(meta["labels"]))
    head.load_state_dict(load_file(str(path / "head.safetensors")))
    return head.eval()


def quantize_encoder(module):
    """Dynamic int8 quantization of the Linear layers (CPU inference only)."""
    import torch

    return torch.ao.quantization.quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8)


class E5HeadBackend:
    """Mean-pooled e5 encoder + classification head (our model format). ``layers`` lists the hidden
    states whose pools are concatenated (None: the last only); ``bf16`` runs the encoder under bf16
    autocast (the frozen build's feature pass, on CPUs with native bf16)."""

    def __init__(self, tokenizer, encoder, head, prefix: str, max_tokens: int, labels=LABELS, layers=None,
                 bf16: bool = False):
        self.batcher = Batcher(tokenizer, prefix, max_tokens)
        self.encoder = encoder.eval()
        self.head = head.eval() if head is not None else None
        self.labels = tuple(labels)
        self.layers = check_layers(layers, encoder.config.num_hidden_layers)
        self.bf16 = bf16
        self.dim = encoder.config.hidden_size * (len(self.layers) if self.layers else 1)

    def embed_ids(self, ids, batch_size: int, progress=None) -> np.ndarray:
        import torch

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
        self.batcher = Batcher(tokenizer, "", max_tokens)
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
