"""ML assets (group ``ml``): the sentiment model, and incremental scoring of every text into ``ml.*``.

- ``sentiment_model``: builds (or reuses) the versioned classifier with
  :func:`cem_pipeline.nlp.build.build_sentiment_model` under the model root
  (:func:`cem_pipeline.config.model_root`: ``CEM_MODEL_DIR``, else ``<data dir>/models``) and records its
  evaluation as metadata; ``CEM_SENTIMENT_MODEL`` may instead name any local checkpoint (then nothing is
  trained). Either way it marks the model as the pipeline's current
  one (``CURRENT.json``), which the scoring asset and ``cem sentiment score`` load.
- ``ml_sentiment_scores`` / ``ml_sentence_scores`` / ``ml_call_sentiment``: one step that scores what the
  current model has not scored yet (:func:`cem_pipeline.nlp.store.score_warehouse`), reading the texts
  from the dbt view ``int_feedback__texts`` (built from staging, so upstream of them). Their keys are
  what the dbt translator gives the dbt sources ``ml.sentiment_scores`` etc., so dbt models reading them
  sit downstream. The model runs with ``CEM_SENTIMENT_RUNTIME`` (default ``auto``: ONNX Runtime int8,
  :mod:`cem_pipeline.nlp.onnx_backend`, when onnxruntime is installed). The hourly job leaves group
  ``ml`` out; dbt then reads the tables as the last ml run left them (the dbt on-run-start hook ``create_ml_tables`` creates them empty on a fresh warehouse).
"""


import json

import dagster as dg

from assets.resources import CemSettings
from cem_pipeline import config as cem_config
from cem_pipeline.nlp.build import build_sentiment_model
from cem_pipeline.nlp.data import default_data_dir
from cem_pipeline.nlp.registry import current_model_dir, model_identity, set_current_model
from cem_pipeline.nlp.store import CALLS_TABLE, SCORES_TABLE, SENTENCES_TABLE

ML_GROUP = "ml"
# The texts to score: the dbt view over staging (latest versions, call turns unnested), defined once in SQL.
TEXTS_KEY = dg.AssetKey("int_feedback__texts")


class SentimentModelConfig(dg.Config):
    config: str = "demo"
    """``demo`` (frozen encoder + trained head; minutes on CPU), ``full`` (fine-tuned encoder; ~45 min on 2 CPU
    cores, minutes on a GPU) or ``fast`` (``full`` distilled into 4 layers for scoring speed; needs ``full``)."""
    seed: int = 7
    overrides_json: str = ""
    """JSON object of training-setting overrides (e.g. ``{"train_cap_per_set": 120, "epochs": 150}``)."""
    force: bool = False


def _md_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def evaluation_metadata(metrics: dict) -> dict:
    """Dagster metadata from an eval.json: headline figures and markdown tables."""
    labels = metrics.get("labels", ["negative", "neutral", "positive"])
    overall = metrics.get("overall", {})
    slices = [["overall", overall.get("n"), overall.get("accuracy"), overall.get("macro_f1"), ""]]
    slices += [[f"language {k}", m["n"], m["accuracy"], m["macro_f1"], ""] for k, m in sorted(metrics.get("by_language", {}).items())]
    slices += [[k, m["n"], m["accuracy"], m["macro_f1"], "yes" if m.get("trained_on") else "no"]
               for k, m in sorted(metrics.get("by_dataset", {}).items())]
    cm = overall.get("confusion") or [[0] * 3] * 3
    confusion = _md_table(["true \\ predicted", *labels], [[labels[i], *row] for i, row in enumerate(cm)])
    md: dict = {
        "test_accuracy": dg.MetadataValue.float(float(overall.get("accuracy") or 0.0)),
        "test_macro_f1": dg.MetadataValue.float(float(overall.get("macro_f1") or 0.0)),
        "test_n": dg.MetadataValue.int(int(overall.get("n") or 0)),
        "evaluation": dg.MetadataValue.md(_md_table(["slice", "n", "accuracy", "macro-F1", "trained on"], slices)),
        "confusion_matrix": dg.MetadataValue.md(confusion),
    }
    for lang, m in sorted(metrics.get("by_language", {}).items()):
        md[f"macro_f1_{lang}"] = dg.MetadataValue.float(float(m.get("macro_f1") or 0.0))
    return md


@dg.asset(
    group_name=ML_GROUP,
    kinds={"pytorch", "python"},
    owners=["team:data-science"],
    tags={"layer": "ml"},
    description="The sentiment classifier (zh/en): built offline from the permissive labelled sets "
                "(../shared/data, else the shipped sample corpus), versioned under the model root and reused "
                "while its version is unchanged. Metadata: test-split accuracy, macro-F1 per language and "
                "dataset, confusion matrix. CEM_SENTIMENT_MODEL may name any local checkpoint instead.",
)
def sentiment_model(context: dg.AssetExecutionContext, config: SentimentModelConfig) -> dg.MaterializeResult:
    root = cem_config.model_root()
    path = cem_config.sentiment_model_dir()
    if path:
        name, version = model_identity(path)
        set_current_model(path, f"{name}-{version}", root)
        meta = {"model_id": f"{name}-{version}", "model_dir": str(path), "source": "CEM_SENTIMENT_MODEL (not trained here)"}
        eval_file = path / "eval.json"
        if eval_file.is_file():
            meta.update(evaluation_metadata(json.loads(eval_file.read_text())))
        context.log.info(f"using CEM_SENTIMENT_MODEL={path}; skipping training")
        return dg.MaterializeResult(metadata=meta, data_version=dg.DataVersion(f"{name}-{version}"))

    data_dir = default_data_dir()
    if data_dir is None:
        raise FileNotFoundError("no labelled sentiment data: put the data library at ../shared/data, set "
                                "CEM_CORPUS_DIR, or set CEM_SENTIMENT_MODEL to a local checkpoint")
    overrides = json.loads(config.overrides_json) if config.overrides_json else None
    info = build_sentiment_model(data_dir, root, config.config, config.seed, overrides=overrides,
                                 force=config.force, log=context.log.info)
    set_current_model(info.path, info.model_id, root)
    context.log.info(f"{'reused' if info.reused else 'built'} {info.model_id} at {info.path}")
    meta = {
        "model_id": info.model_id, "model_dir": str(info.path), "config": config.config,
        "reused": info.reused, "build_seconds": dg.MetadataValue.float(float(info.build_seconds)),
        "data_dir": str(data_dir), "train_sets": ", ".join(info.train_sets),
        "n_train": info.n_train, "n_validation": info.n_validation,
        **evaluation_metadata(info.metrics),
    }
    return dg.MaterializeResult(metadata=meta, data_version=dg.DataVersion(info.model_id))


SCORES_KEY = dg.AssetKey("ml_sentiment_scores")
SENTENCES_KEY = dg.AssetKey("ml_sentence_scores")
CALLS_KEY = dg.AssetKey("ml_call_sentiment")
# Scoring sits between two parts of the dbt graph (staging -> int_feedback__texts -> ml -> stg_ml__* -> marts):
# Dagster runs the dbt multi-asset in two steps, one on each side.
_SCORING_DEPS = [dg.AssetKey("sentiment_model"), TEXTS_KEY]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(SCORES_KEY, deps=_SCORING_DEPS, group_name=ML_GROUP, kinds={"pytorch", "duckdb"},
                     owners=["team:data-science"], tags={"layer": "ml"},
                     description="`ml.sentiment_scores`: one row per review, social post, survey comment and "
                                 "call turn (turn null except for calls) with language, label, score = P(pos) - "
                                 "P(neg), the three probabilities and the model that scored it. Incremental: only "
                                 "texts not yet scored by the current model version."),
        dg.AssetSpec(SENTENCES_KEY, deps=_SCORING_DEPS, group_name=ML_GROUP, kinds={"pytorch", "duckdb"},
                     owners=["team:data-science"], tags={"layer": "ml"},
                     description="`ml.sentence_scores`: every sentence of those texts with its own sentiment "
                                 "(topic mentions take the sentiment of their sentence)."),
        dg.AssetSpec(CALLS_KEY, deps=_SCORING_DEPS, group_name=ML_GROUP, kinds={"python", "duckdb"},
                     owners=["team:data-science"], tags={"layer": "ml"},
                     description="`ml.call_sentiment`: per call, customer-weighted sentiment, start -> end "
                                 "trajectory and whether the call improved."),
    ],
)
def sentiment_scores(context: dg.AssetExecutionContext, cem: CemSettings):
    model_dir = cem_config.sentiment_model_dir() or current_model_dir(cem_config.model_root())
    if not model_dir:
        raise FileNotFoundError("no current sentiment model: materialize the `sentiment_model` asset first "
                                "(or set CEM_SENTIMENT_MODEL)")
    summary, counts, runtime = cem.engine().score(model_dir, cem_config.sentiment_runtime(), context.log.info)
    context.log.info(f"scored {summary.n_scored} texts ({summary.strings_inferred} strings incl. sentences) "
                     f"with {summary.model_id} in {summary.seconds}s")
    common = {"model_id": summary.model_id, "model_dir": str(model_dir), "runtime": runtime}
    yield dg.MaterializeResult(asset_key=SCORES_KEY, metadata={
        **common,
        "texts_scored_this_run": summary.n_scored,
        "texts_scored_by_source": dg.MetadataValue.json(summary.texts_scored),
        "rows_by_source": dg.MetadataValue.json(counts[SCORES_TABLE]),
        "rows": dg.MetadataValue.int(sum(counts[SCORES_TABLE].values())),
        "blank_texts_skipped": summary.blank_texts,
        "stale_rows_deleted": summary.rows_deleted,
        "strings_inferred": summary.strings_inferred,
        "texts_per_second": dg.MetadataValue.float(float(summary.texts_per_second or 0.0)),
        "inference_seconds": dg.MetadataValue.float(summary.inference_seconds),
        "duration_s": dg.MetadataValue.float(summary.seconds),
    })
    yield dg.MaterializeResult(asset_key=SENTENCES_KEY, metadata={
        **common,
        "rows_by_source": dg.MetadataValue.json(counts[SENTENCES_TABLE]),
        "sentences_scored_this_run": summary.sentences_scored,
    })
    yield dg.MaterializeResult(asset_key=CALLS_KEY, metadata={
        **common, "calls": counts[CALLS_TABLE]["calls"], "calls_updated_this_run": summary.calls_updated,
    })


ml_assets = [sentiment_model, sentiment_scores]
