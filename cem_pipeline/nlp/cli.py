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

Mistakes (a missing input file or text column, a wrong model directory, a bad ``CEM_*`` setting, a fast
build without its teacher) print one line that says what to fix, and the exit code is 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from cem_pipeline import config
from cem_pipeline.config import ConfigError
from cem_pipeline.nlp.build import build_sentiment_model
from cem_pipeline.nlp.data import default_data_dir
from cem_pipeline.nlp.onnx_backend import OnnxUnavailable
from cem_pipeline.nlp.registry import current_model_dir, latest_model_dir
from cem_pipeline.nlp.runtimes import AUTO, RUNTIMES
from cem_pipeline.nlp.scoring import load_scorer
from cem_pipeline.nlp.training import CONFIGS

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

OUTPUT_COLUMNS = ("sentiment_label", "sentiment_score", "language")
FORMATS = ".csv, .csv.gz, .tsv or .parquet"


class UsageError(ValueError):
    """A command-line mistake (a missing file, a wrong column or model directory): its message says what
    is wrong and how to fix it, and :func:`main` prints it as one line (exit code 2), not a traceback."""


# Errors whose message already says what to do: printed as one line by run_args.
_ONE_LINE_ERRORS = (UsageError, ConfigError, OnnxUnavailable, FileNotFoundError)


def _format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".csv.gz", ".tsv")):
        return "csv"
    raise UsageError(f"{path}: expected a {FORMATS} file")


def resolve_model_dir(model_dir: str | Path | None = None) -> Path:
    if model_dir:
        if not Path(model_dir).is_dir():
            raise UsageError(f"--model-dir {model_dir}: no such directory; pass a built model's directory "
                             "(`cem sentiment build` prints one) or leave it out to use the pipeline's model")
        return Path(model_dir)
    configured = config.sentiment_model_dir()
    if configured:
        if not configured.is_dir():
            raise UsageError(f"CEM_SENTIMENT_MODEL={configured} is not a directory; set it to a model directory "
                             "or unset it to use the pipeline's model")
        return configured
    found = current_model_dir() or latest_model_dir()
    if found:
        return found
    data_dir = default_data_dir()
    if data_dir is None:
        raise UsageError("no sentiment model: pass --model-dir, set CEM_SENTIMENT_MODEL, or provide labelled data "
                         "(CEM_CORPUS_DIR) so that a demo model can be built")
    return build_sentiment_model(data_dir, config.model_root(), "demo", log=lambda m: print(m, file=sys.stderr)).path


def score_file(input: str | Path, output: str | Path, text_column: str = "text", model_dir: str | Path | None = None,
               batch_size: int | None = None, scorer=None, progress: bool = True, runtime: str | None = None) -> dict:
    """Score ``input`` (CSV or Parquet) into ``output`` (same format as ``output``'s extension says; the
    input's format when it has none of ours). All input columns are kept; ``sentiment_label``,
    ``sentiment_score`` and ``language`` are added (replacing columns of those names). Empty texts get an
    empty label and score. ``runtime`` defaults to ``CEM_SENTIMENT_RUNTIME`` (else ``auto``). Returns a small
    summary dict (rows, model, runtime, counts per label)."""
    import pandas as pd
    from tqdm.auto import tqdm

    input, output = Path(input), Path(output)
    in_fmt = _format(input)
    if not input.is_file():
        raise UsageError(f"{input}: no such file; give the path of the {FORMATS} file to score")
    try:
        out_fmt = _format(output)
    except UsageError:
        out_fmt = in_fmt
    if in_fmt == "csv":
        df = pd.read_csv(input, sep="\t" if input.name.lower().endswith(".tsv") else ",", keep_default_na=False, na_values=[""], dtype_backend="numpy_nullable")
    else:
        df = pd.read_parquet(input)
    if text_column not in df.columns:
        raise UsageError(f"{input}: no column {text_column!r}; pass --text-column with one of "
                         f"{', '.join(map(str, df.columns))}")
    if scorer is None:
        runtime = runtime or config.sentiment_runtime()  # a bad setting fails before any model is built
        scorer = load_scorer(resolve_model_dir(model_dir), batch_size=batch_size, runtime=runtime)
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
    sub = p.add_subparsers(dest="sentiment_command", required=True)
    s = sub.add_parser("score", help="score a CSV or Parquet file")
    s.add_argument("input", help="input .csv / .csv.gz / .parquet")
    s.add_argument("--text-column", default="text", help="column holding the text (default: text)")
    s.add_argument("--output", "-o", required=True, help="output file (.csv or .parquet)")
    s.add_argument("--model-dir", default=None, help="model directory (default: CEM_SENTIMENT_MODEL, else newest demo model)")
    s.add_argument("--batch-size", type=int, default=None, help="texts per batch (default: 8 with ONNX, 32 with torch)")
    s.add_argument("--runtime", choices=[AUTO, *RUNTIMES], default=None,
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
    try:
        return _run(args)
    except _ONE_LINE_ERRORS as e:
        print(f"cem sentiment {args.sentiment_command}: {e}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.sentiment_command == "score":
        summary = score_file(args.input, args.output, args.text_column, args.model_dir, args.batch_size,
                             progress=not args.no_progress, runtime=args.runtime)
        print(json.dumps(summary, ensure_ascii=False))
        return 0
    if args.sentiment_command == "build":
        data_dir = args.data_dir or default_data_dir()
        if data_dir is None:
            raise UsageError("no labelled data found; pass --data-dir (or set CEM_CORPUS_DIR)")
        info = build_sentiment_model(data_dir, args.out_dir or config.model_root(), args.config, args.seed,
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
