"""Incremental scoring into ml.* (cem_pipeline.nlp.store) with a counting fake scorer, the ml table
definitions vs the dbt macro, and the tiny checkpoint through the real load_scorer."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from cem_pipeline import schema
from cem_pipeline.nlp import store
from tests.support.ml import CountingScorer
from tests.support import REPO



def texts(rows):
    return pd.DataFrame(rows, columns=["source", "record_id", "turn", "speaker", "text"])


BASE = [
    ("reviews", "r1", None, None, "Great phone. The delivery was bad!"),
    ("reviews", "r2", None, None, "物流很快。质量太差了！"),
    ("social", "p1", None, None, "love it"),
    ("surveys", "s1", None, None, None),
    ("surveys", "s2", None, None, "   "),
    ("calls", "c1", 1, "customer", "My order is bad."),
    ("calls", "c1", 2, "agent", "Sorry about that."),
    ("calls", "c1", 3, "customer", "Thanks, great help."),
]


@pytest.fixture
def con():
    c = duckdb.connect(":memory:")
    yield c
    c.close()


def test_scores_every_text_once_then_only_new_rows(con):
    scorer = CountingScorer()
    first = store.score_warehouse(con, scorer, texts=texts(BASE))
    assert first.texts_scored == {"reviews": 2, "social": 1, "calls": 3}
    assert first.blank_texts == 2
    rows = con.execute("select source, record_id, turn, sentiment_label, n_sentences, model_id "
                       "from ml.sentiment_scores order by 1, 2, 3").df()
    assert len(rows) == 6 and set(rows.model_id) == {"fake-v1"}
    assert rows.set_index("record_id").loc["r1", "n_sentences"] == 2
    # the sentences of multi-sentence texts are scored on their own
    sents = con.execute("select record_id, sentence_no, sentence_text, sentiment_label from ml.sentence_scores "
                        "where record_id in ('r1', 'r2') order by 1, 2").df()
    assert list(sents.sentence_text) == ["Great phone.", "The delivery was bad!", "物流很快。", "质量太差了！"]
    assert list(sents.sentiment_label) == ["positive", "negative", "positive", "negative"]
    calls = con.execute("select * from ml.call_sentiment").df()
    assert len(calls) == 1 and calls.improved[0] and calls.n_customer_turns[0] == 2

    # again, nothing changed: nothing scored
    scorer.seen.clear()
    again = store.score_warehouse(con, scorer, texts=texts(BASE))
    assert again.n_scored == 0 and scorer.seen == [] and again.calls_updated == 0

    # new rows and one changed text: only those are scored
    more = BASE[:2] + [("social", "p1", None, None, "it is bad now"), ("social", "p2", None, None, "new post"),
                       ("surveys", "s2", None, None, "finally a comment")] + BASE[3:4] + BASE[5:] + [
        ("calls", "c1", 4, "customer", "bye")]
    third = store.score_warehouse(con, scorer, texts=texts(more))
    assert third.texts_scored == {"social": 2, "surveys": 1, "calls": 1}
    assert set(scorer.seen) == {"it is bad now", "new post", "finally a comment", "bye"}
    assert third.calls_updated == 1
    assert con.execute("select count(*) from ml.sentiment_scores").fetchone()[0] == 9
    assert con.execute("select sentiment_label from ml.sentiment_scores where record_id = 'p1'").fetchone()[0] == "negative"
    assert con.execute("select n_turns from ml.call_sentiment").fetchone()[0] == 4

    # a text that disappears loses its rows
    fourth = store.score_warehouse(con, scorer, texts=texts([r for r in more if r[1] != "p2"]))
    assert fourth.n_scored == 0 and fourth.rows_deleted == 1
    assert con.execute("select count(*) from ml.sentence_scores where record_id = 'p2'").fetchone()[0] == 0


def test_new_model_version_rescores_everything(con):
    store.score_warehouse(con, CountingScorer("v1"), texts=texts(BASE))
    v2 = CountingScorer("v2")
    summary = store.score_warehouse(con, v2, texts=texts(BASE))
    assert summary.n_scored == 6
    for table in ("sentiment_scores", "sentence_scores", "call_sentiment"):
        assert {m for (m,) in con.execute(f"select distinct model_id from ml.{table}").fetchall()} == {"fake-v2"}
    assert con.execute("select count(*) from ml.sentiment_scores").fetchone()[0] == 6


def test_chunks_commit_independently(con):
    many = texts([("social", f"p{i}", None, None, f"post number {i}") for i in range(25)])
    summary = store.score_warehouse(con, CountingScorer(), texts=many, chunk_size=10)
    assert summary.texts_scored == {"social": 25}
    assert con.execute("select count(distinct record_id) from ml.sentiment_scores").fetchone()[0] == 25


def test_reads_the_texts_view_and_nothing_before_dbt_built_it(con):
    assert store.current_texts(con).empty  # a fresh warehouse: dbt has not built the view yet
    # Which version is the latest and how call turns unnest is staging's business (dbt); the store reads
    # the view as it is, with turn as a nullable integer.
    con.execute("create schema intermediate")
    con.execute("""create view intermediate.int_feedback__texts as
        select * from (values ('reviews', 'r1', null::integer, null::varchar, 'new text'),
                              ('calls', 'c1', 1, 'customer', 'hello'), ('calls', 'c1', 2, 'agent', 'hi'))
        as t(source, record_id, turn, speaker, text)""")
    got = store.current_texts(con).sort_values(["source", "turn"])
    assert list(got.text) == ["hello", "hi", "new text"]
    assert list(got.speaker.fillna("-")) == ["customer", "agent", "-"]
    assert str(got.turn.dtype) == "Int64"
    summary = store.score_warehouse(con, CountingScorer())
    assert summary.texts_scored == {"calls": 2, "reviews": 1}


def test_table_definitions_match_the_dbt_macro(con):
    sql = (REPO / "dbt_project" / "macros" / "ml_tables.sql").read_text()
    body = sql.split("{% macro ml_tables_ddl() -%}")[1].split("{%- endmacro %}")[0]
    con.execute(body)
    for table, cols in schema.ML_TABLES.items():
        s, t = table.split(".")
        got = con.execute("select column_name, data_type from information_schema.columns where table_schema = ? "
                          "and table_name = ? order by ordinal_position", [s, t]).fetchall()
        assert got == [(c, ty) for c, ty in cols], table
    store.ensure_tables(con)  # idempotent over the macro's tables


def test_tiny_checkpoint_through_load_scorer(con):
    from cem_pipeline.nlp.registry import model_identity
    from cem_pipeline.nlp.scoring import load_scorer
    from tests.support.ml import tiny_sentiment_model

    path = tiny_sentiment_model()
    scorer = load_scorer(path)
    assert (scorer.model_name, scorer.model_version) == model_identity(path)
    summary = store.score_warehouse(con, scorer, texts=texts(BASE))
    assert summary.n_scored == 6
    got = con.execute("select sentiment_label, sentiment_score, p_neg + p_neu + p_pos as p, language "
                      "from ml.sentiment_scores order by record_id").df()
    assert got.sentiment_label.isin(["negative", "neutral", "positive"]).all()
    assert ((got.p - 1).abs() < 1e-4).all()
    assert set(got.language) >= {"zh", "en"}
