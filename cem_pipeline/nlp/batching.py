"""Tokenization, truncation and length-sorted batching: what every runtime feeds its model.

Texts are tokenized once (with the model's prefix, e5's ``"query: "``), sorted by token length and cut
into batches of ``batch_size``; each batch is padded only to its own longest text, so short texts never
pay for long ones; callers put results back in input order with the indices each batch carries.
Inputs are truncated to ``max_tokens`` tokens, special tokens and the prefix included, by **head +
tail** truncation (:func:`head_tail`): the first quarter of the budget comes from the start of the text
and the rest from its end (the closing sentences of a review usually carry its verdict).

The torch backends (:mod:`cem_pipeline.nlp.torch_backend`), the ONNX backend
(:mod:`cem_pipeline.nlp.onnx_backend`) and fine-tuning (:mod:`cem_pipeline.nlp.training`) all use one
:class:`Batcher`, so every runtime sees the same ids.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

DEFAULT_MAX_TOKENS = 256
HEAD_FRACTION = 0.25


def head_tail(ids: Sequence[int], budget: int, head_fraction: float = HEAD_FRACTION) -> tuple[list[int], bool]:
    """Keep at most ``budget`` ids: the first ``head_fraction`` of the budget and the rest from the end."""
    ids = list(ids)
    if len(ids) <= budget:
        return ids, False
    head = max(1, int(budget * head_fraction))
    tail = budget - head
    return ids[:head] + (ids[-tail:] if tail > 0 else []), True


class Batcher:
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
