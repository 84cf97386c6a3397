"""The ml assets in the real Dagster graph on the session's shared runs: the daily job scores every text
(tiny checkpoint via CEM_SENTIMENT_MODEL, see tests/support/e2e.pipeline_env), dbt joins the scores into
fct_feedback and builds topic mentions and the topic mart; the hourly job leaves ml out; the next ml run
scores only what is new. The sentiment_model asset's build path (reusing the session's small model)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import pytest

from tests.support import REPO, SHARED_DATA
from tests.support.e2e import environment, failed_checks, query

pytestmark = pytest.mark.e2e

ML_KEYS = {"ml_sentiment_scores", "ml_sentence_scores", "ml_call_sentiment"}


@pytest.fixture(scope="module")
def ml_pipeline(shared):
    """The session's daily run (which includes the ml group) and its hourly run."""
    return {"sim": shared.sim, "warehouse": shared.daily.warehouse, "daily": shared.daily.result, "shared": shared}


def _materializations(result) -> dict[str, dict]:
    return {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}


def _texts(warehouse):
    import duckdb

    from cem_pipeline.nlp.store import current_texts, text_hash

    with duckdb.connect(str(warehouse), read_only=True) as con:
        df = current_texts(con)
    df = df[df.text.fillna("").str.strip() != ""].copy()
    df["text_hash"] = [text_hash(t) for t in df.text]
    return df


def test_daily_job_scores_every_text_and_feeds_the_marts(ml_pipeline):
    result, wh = ml_pipeline["daily"], ml_pipeline["warehouse"]
    assert result.success and failed_checks(result) == []
    mats = _materializations(result)
    assert ML_KEYS | {"sentiment_model", "int_topic_mentions", "mart_topic_sentiment_daily"} <= set(mats)
    md = mats["ml_sentiment_scores"]
    texts = _texts(wh)
    per_source = texts.groupby("source").size().to_dict()
    assert md["rows_by_source"].value == per_source and set(per_source) == {"reviews", "social", "surveys", "calls"}
    assert md["texts_scored_this_run"].value == len(texts)
    assert md["model_id"].value.startswith("tiny-sentiment-")
    # one row per text, keyed as in the masked layer
    scores = query(wh, "select source, record_id, turn, count(*) over (partition by source, record_id, turn) as c, "
                       "sentiment_label, p_neg + p_neu + p_pos as p from ml.sentiment_scores")
    assert (scores.c == 1).all() and len(scores) == len(texts) and ((scores.p - 1).abs() < 1e-4).all()
    calls = query(wh, "select count(*) as n from staging.stg_calls__calls")["n"][0]
    assert query(wh, "select count(*) as n from ml.call_sentiment")["n"][0] == calls
    # fct_feedback carries the scores
    fct = query(wh, """select source, count(*) filter (where sentiment_score is not null) as scored,
                              count(*) filter (where feedback_text is not null and trim(feedback_text) <> '') as with_text,
                              count(*) as n
                       from marts.fct_feedback group by 1""").set_index("source")
    for src in ("reviews", "social", "surveys"):
        assert fct.loc[src, "scored"] == fct.loc[src, "with_text"] > 0, src
    assert fct.loc["calls", "scored"] == fct.loc["calls", "n"]
    # topic mentions carry the sentiment of their own sentence, which contains a keyword of the topic
    mentions = query(wh, """select m.*, s.sentiment_score as sentence_score, t.score as text_score
        from intermediate.int_topic_mentions m
        join ml.sentence_scores s on s.source = m.source and s.record_id = m.record_id
             and s.turn is not distinct from m.turn and s.sentence_no = m.sentence_no
        join (select source, record_id, turn, sentiment_score as score from ml.sentiment_scores) t
             on t.source = m.source and t.record_id = m.record_id and t.turn is not distinct from m.turn""")
    assert len(mentions) > 20 and set(mentions.source) >= {"reviews", "surveys"}
    assert (mentions.sentiment_score == mentions.sentence_score).all()
    from cem_pipeline.nlp.topics import find_topics

    for row in mentions.itertuples():
        assert row.topic in find_topics(row.sentence_text), (row.topic, row.sentence_text)
    mart = query(wh, "select sum(mentions) as n from marts.mart_topic_sentiment_daily")
    assert int(mart.n[0]) == len(mentions)


def test_hourly_leaves_ml_out_and_the_next_ml_run_scores_only_new_texts(ml_pipeline):
    shared = ml_pipeline["shared"]
    before = _texts(shared.daily.warehouse)
    hourly = shared.hourly.result  # 30 simulated hours after the daily run
    assert hourly.success and not (ML_KEYS & set(_materializations(hourly)))
    after = _texts(shared.hourly.warehouse)
    key = ["source", "record_id", "turn", "text_hash"]
    new = after.merge(before[key].assign(old=True), on=key, how="left")
    expected = new[new.old.isna()].groupby("source").size().to_dict()
    assert sum(expected.values()) > 0

    def ml_only(env):
        from definitions import defs

        return defs.resolve_implicit_global_asset_job_def().execute_in_process(
            asset_selection=[dg.AssetKey(k) for k in ML_KEYS], instance=dg.DagsterInstance.ephemeral(),
            raise_on_error=False)

    ml = shared.run_on_copy(shared.hourly, "ml_after_hourly", ml_only).result
    assert ml.success
    md = _materializations(ml)["ml_sentiment_scores"]
    assert md["texts_scored_by_source"].value == expected
    assert md["rows_by_source"].value == after.groupby("source").size().to_dict()


DATA_DIR = SHARED_DATA


@pytest.mark.skipif(not (DATA_DIR / "reviews_en_uci_amazon_yelp.csv").is_file(), reason="no labelled data")
def test_sentiment_model_asset_builds_or_reuses_and_records_its_evaluation(tmp_path):
    from definitions import defs
    from tests.unit.test_nlp_sentiment import SMALL

    root = REPO / "data" / "test-artifacts" / "nlp-models"  # the session's small model (tests/unit/test_nlp_sentiment.py)
    env = {"CEM_MODEL_DIR": str(root), "CEM_CORPUS_DIR": str(DATA_DIR), "CEM_DATA_DIR": str(tmp_path),
           "CEM_ENV": "test", "CEM_NO_PROGRESS": "1"}
    saved = os.environ.pop("CEM_SENTIMENT_MODEL", None)
    try:
        with environment(env):
            run_config = {"ops": {"sentiment_model": {"config": {"overrides_json": json.dumps(SMALL)}}}}
            result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
                asset_selection=[dg.AssetKey("sentiment_model")], run_config=run_config,
                instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    finally:
        if saved is not None:
            os.environ["CEM_SENTIMENT_MODEL"] = saved
    assert result.success
    md = _materializations(result)["sentiment_model"]
    assert md["model_id"].value.startswith("cem-sentiment-e5small-demo-")
    assert 0.5 < md["test_accuracy"].value <= 1 and {"macro_f1_zh", "macro_f1_en"} <= set(md)
    assert "| overall |" in md["evaluation"].value and "true \\ predicted" in md["confusion_matrix"].value
    current = json.loads((root / "CURRENT.json").read_text())
    assert current["model_id"] == md["model_id"].value and Path(current["path"]).is_dir()
