"""``cem sentiment ...``: score a file, or build the model.

Integration with the project's ``cem`` console script: either call :func:`add_subparser` on the
top-level argparse sub-parsers (it registers ``sentiment`` and sets ``func`` to :func:`run_args`), or
hand the arguments after ``sentiment`` to :func:`main` (``main(["score", "in.csv", "--output", ...])``).
Both are supported; ``main(argv)`` is the simplest delegation and returns an exit code.

Commands::

    cem sentiment score INPUT --text-column text --output OUTPUT [--model-dir DIR] [--batch-size N]
                        [--runtime auto|torch|torch-int8|onnx|onnx-int8]
    cem sentiment build [--data-dir DIR] [--out-dir data/models] [--config demo|full|fast] [--seed 7]

The model for ``score`` is ``--model-dir``, else ``CEM_SENTIMENT_MODEL``, else the pipeline's current model
(``CURRENT.json`` written by the ``sentiment_model`` asset), else the newest demo model under the model root
(``CEM_MODEL_DIR``, else ``$CEM_DATA_DIR/models``, default ``data/models``), else a demo model is built there
first. Scoring goes through the same ``load_scorer`` as the pipeline's scoring asset, with the same runtime:
``--runtime``, else ``CEM_SENTIMENT_RUNTIME``, else ``auto`` (ONNX Runtime int8 when onnxruntime is installed).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

OUTPUT_COLUMNS = ("sentiment_label", "sentiment_score", "language")


def _format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".csv.gz", ".tsv")):
        return "csv"
    raise ValueError(f"{path}: expected a .csv, .csv.gz or .parquet file")


def resolve_model_dir(model_dir: str | Path | None = None) -> Path:
    from cem_pipeline.nlp.data import default_data_dir
    from cem_pipeline.nlp.model import build_sentiment_model, current_model_dir, default_model_root, latest_model_dir
    from cem_pipeline.nlp.scoring import ENV_MODEL

    if model_dir:
        return Path(model_dir)
    if os.environ.get(ENV_MODEL):
        return Path(os.environ[ENV_MODEL])
    found = current_model_dir() or latest_model_dir()
    if found:
        return found
    data_dir = default_data_dir()
    if data_dir is None:
        raise FileNotFoundError(f"no sentiment model: pass --model-dir, set {ENV_MODEL}, or provide labelled data")
    return build_sentiment_model(data_dir, default_model_root(), "demo", log=lambda m: print(m, file=sys.stderr)).path


def score_file(input: str | Path, output: str | Path, text_column: str = "text", model_dir: str | Path | None = None,
               batch_size: int | None = None, scorer=None, progress: bool = True, runtime: str | None = None) -> dict:
    """Score ``input`` (CSV or Parquet) into ``output`` (same format as ``output``'s extension says; the
    input's format when it has none of ours). All input columns are kept; ``sentiment_label``,
    ``sentiment_score`` and ``language`` are added (replacing columns of those names). Empty texts get an
    empty label and score. ``runtime`` defaults to ``CEM_SENTIMENT_RUNTIME`` (else ``auto``). Returns a small
    summary dict (rows, model, runtime, counts per label)."""
    import pandas as pd
    from tqdm.auto import tqdm

    from cem_pipeline.config import sentiment_runtime
    from cem_pipeline.nlp.scoring import load_scorer

    input, output = Path(input), Path(output)
    in_fmt = _format(input)
    try:
        out_fmt = _format(output)
    except ValueError:
        out_fmt = in_fmt
    if in_fmt == "csv":
        df = pd.read_csv(input, sep="\t" if input.name.lower().endswith(".tsv") else ",", keep_default_na=False, na_values=[""], dtype_backend="numpy_nullable")
    else:
        df = pd.read_parquet(input)
    if text_column not in df.columns:
        raise KeyError(f"{input}: no column {text_column!r}; columns are {list(df.columns)}")
    scorer = scorer or load_scorer(resolve_model_dir(model_dir), batch_size=batch_size,
                                   runtime=runtime or sentiment_runtime())
    texts = [None if pd.isna(t) else str(t) for t in df[text_column].tolist()]
    with tqdm(total=sum(1 for t in texts if t and t.strip()), desc="scoring", unit="text", disable=not progress) as bar:
        scores = scorer.score(texts, progress=bar.update)
    out = df.copy()
    out["sentiment_label"] = pd.array([s.label for s in scores], dtype="string")
    out["sentiment_score"] = pd.array([s.score for s in scores], dtype="Float64")
    out["language"] = pd.array([s.language for s in scores], dtype="string")
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    if out_fmt == "csv":
        out.to_csv(tmp, index=False, compression="gzip" if output.name.lower().endswith(".gz") else None)
    else:
        out.to_parquet(tmp, index=False)
    os.replace(tmp, output)
    counts = out["sentiment_label"].value_counts(dropna=False).to_dict()
    return {"rows": len(out), "output": str(output), "model": scorer.model_id, "runtime": getattr(scorer, "runtime", None),
            "labels": {str(k): int(v) for k, v in counts.items()}}


def add_subparser(subparsers) -> argparse.ArgumentParser:
    """Register ``sentiment`` on a top-level ``argparse`` sub-parsers object; sets ``func=run_args``."""
    p = subparsers.add_parser("sentiment", help="score texts for sentiment, or build the sentiment model")
    _configure(p)
    p.set_defaults(func=run_args)
    return p


def _configure(p: argparse.ArgumentParser) -> None:
    from cem_pipeline.nlp.model import CONFIGS

    sub = p.add_subparsers(dest="sentiment_command", required=True)
    s = sub.add_parser("score", help="score a CSV or Parquet file")
    s.add_argument("input", help="input .csv / .csv.gz / .parquet")
    s.add_argument("--text-column", default="text", help="column holding the text (default: text)")
    s.add_argument("--output", "-o", required=True, help="output file (.csv or .parquet)")
    s.add_argument("--model-dir", default=None, help="model directory (default: CEM_SENTIMENT_MODEL, else newest demo model)")
    s.add_argument("--batch-size", type=int, default=None, help="texts per batch (default: 8 with ONNX, 32 with torch)")
    s.add_argument("--runtime", choices=["auto", "torch", "torch-int8", "onnx", "onnx-int8"], default=None,
                   help="how to run the model (default: CEM_SENTIMENT_RUNTIME, else auto = ONNX Runtime int8 "
                        "when onnxruntime is installed, else PyTorch)")
    s.add_argument("--no-progress", action="store_true")
    b = sub.add_parser("build", help="train the sentiment model")
    b.add_argument("--data-dir", default=None, help="labelled data (default: ../shared/data or the sample corpus)")
    b.add_argument("--out-dir", default=None, help="where model dirs go (default: CEM_MODEL_DIR or data/models)")
    b.add_argument("--config", choices=sorted(CONFIGS), default="demo",
                   help="demo: frozen encoder + head, minutes on CPU; full: fine-tuned encoder, ~45 min on 2 CPU "
                        "cores; fast: the full model distilled into 4 layers, ~3x the scoring speed (needs full)")
    b.add_argument("--seed", type=int, default=7)
    b.add_argument("--force", action="store_true")


def run_args(args: argparse.Namespace) -> int:
    import json

    if args.sentiment_command == "score":
        summary = score_file(args.input, args.output, args.text_column, args.model_dir, args.batch_size,
                             progress=not args.no_progress, runtime=args.runtime)
        print(json.dumps(summary, ensure_ascii=False))
        return 0
    if args.sentiment_command == "build":
        from cem_pipeline.nlp.data import default_data_dir
        from cem_pipeline.nlp.model import build_sentiment_model, default_model_root

        data_dir = args.data_dir or default_data_dir()
        if data_dir is None:
            print("no labelled data found; pass --data-dir", file=sys.stderr)
            return 2
        info = build_sentiment_model(data_dir, args.out_dir or default_model_root(), args.config, args.seed,
                                     force=args.force, log=lambda m: print(m, file=sys.stderr))
        print(json.dumps({"model_dir": str(info.path), "model": info.model_id, "reused": info.reused,
                          "test_overall": info.metrics.get("overall", {}).get("accuracy")}))
        return 0
    return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point for the arguments after ``cem sentiment``."""
    parser = argparse.ArgumentParser(prog="cem sentiment", description="Sentiment scoring (zh / en).")
    _configure(parser)
    args = parser.parse_args(argv)
    return run_args(args)


if __name__ == "__main__":
    raise SystemExit(main())
