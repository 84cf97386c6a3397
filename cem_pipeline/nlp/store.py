"""Incremental sentiment scoring of the warehouse's texts into the ``ml`` schema.

``score_warehouse(con, scorer) -> ScoringSummary`` reads every text from the dbt view
``intermediate.int_feedback__texts`` (staging's latest versions, call turns unnested: that logic lives once,
in dbt) and scores:

- every review text, social post text and survey comment, and each call-transcript turn (a "text"), into
  ``ml.sentiment_scores`` keyed by (source, record_id, turn) -- turn is null except for calls;
- every sentence of those texts (:func:`cem_pipeline.nlp.topics.split_sentences`) into
  ``ml.sentence_scores`` keyed by (source, record_id, turn, sentence_no), with the sentence's text, so that
  ``int_topic_mentions`` gives each topic mention the sentiment of the sentence that mentions it. A text
  that is one sentence reuses the text's score (it is not scored twice);
- each call (:func:`cem_pipeline.nlp.calls.call_sentiment`: customer turns weighted, start -> end
  trajectory, ``improved``) into ``ml.call_sentiment``.

Incremental: a text is scored only when no row with the same (source, record_id, turn, text_hash,
model_id) exists, i.e. it is new, its text changed, or the model changed (a new model version rescores
everything). Rows of texts that disappeared (a call that lost turns, a comment that was cleared) are
deleted. Work goes in chunks of ``chunk_size`` texts, each committed on its own, so an interrupted run
keeps what it finished. Identical strings are scored once per chunk. Blank texts are not stored.

``scorer`` is anything with ``model_name``, ``model_version``, ``model_id`` and
``score(texts, progress=None) -> list[Score]`` (:class:`cem_pipeline.nlp.scoring.SentimentScorer`).
The table definitions here are mirrored by the dbt macro ``create_ml_tables`` (dbt_project/macros/
ml_tables.sql), which creates them empty before any dbt run so that dbt never reads a missing table;
tests/unit/test_ml_store.py keeps the two in step.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import pandas as pd

from cem_pipeline import schema
from cem_pipeline.nlp.calls import call_sentiment
from cem_pipeline.nlp.topics import split_sentences
from cem_pipeline.schema import CALLS_TABLE, SCORES_TABLE, SENTENCES_TABLE, TEXTS_VIEW

# A call's label from its weighted score (P(pos) - P(neg) averaged over turns).
CALL_LABEL_THRESHOLD = 0.25

TABLES = schema.ML_TABLES  # table -> [(column, type)]


@dataclass
class ScoringSummary:
    model_id: str
    texts_current: dict[str, int] = field(default_factory=dict)   # non-blank texts per source now
    texts_scored: dict[str, int] = field(default_factory=dict)    # scored in this run, per source
    blank_texts: int = 0
    sentences_scored: int = 0      # sentences that needed their own inference
    strings_inferred: int = 0      # distinct strings sent to the model
    rows_deleted: int = 0          # stale rows (texts that disappeared)
    calls_updated: int = 0
    seconds: float = 0.0
    inference_seconds: float = 0.0

    @property
    def n_scored(self) -> int:
        return sum(self.texts_scored.values())

    @property
    def texts_per_second(self) -> float | None:
        return round(self.strings_inferred / self.inference_seconds, 1) if self.inference_seconds > 0 else None


def ensure_tables(con) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema.ML}")
    for table, cols in TABLES.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(f'{c} {t}' for c, t in cols)})")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _table_exists(con, qualified: str) -> bool:
    s, t = qualified.split(".", 1)  # a table or a view
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                       [s, t]).fetchone()[0] > 0


def current_texts(con) -> pd.DataFrame:
    """Every text staging holds now: source, record_id, turn, speaker, text (blank ones included); empty
    before dbt has built the view."""
    cols = ["source", "record_id", "turn", "speaker", "text"]
    if not _table_exists(con, TEXTS_VIEW):
        return pd.DataFrame(columns=cols)
    df = con.execute(f"SELECT {', '.join(cols)} FROM {TEXTS_VIEW}").df()
    df["turn"] = df["turn"].astype("Int64")
    return df


def _score_row(s) -> dict:
    return {"sentiment_label": s.label, "sentiment_score": s.score, "p_neg": s.p_negative,
            "p_neu": s.p_neutral, "p_pos": s.p_positive}


def _insert(con, table: str, df: pd.DataFrame) -> None:
    if df.empty:
        return
    cols = [c for c, _ in TABLES[table]]
    con.register("_ml_rows", df[cols])
    try:
        con.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM _ml_rows")
    finally:
        con.unregister("_ml_rows")


def _delete_keys(con, table: str, keys: pd.DataFrame) -> int:
    """Delete the rows of ``table`` whose (source, record_id, turn) is in ``keys``."""
    if keys.empty:
        return 0
    con.register("_ml_keys", keys[["source", "record_id", "turn"]])
    try:
        n = con.execute(f"SELECT count(*) FROM {table} AS t WHERE EXISTS (SELECT 1 FROM _ml_keys AS k WHERE "
                        "k.source = t.source AND k.record_id = t.record_id AND k.turn IS NOT DISTINCT FROM t.turn)"
                        ).fetchone()[0]
        con.execute(f"DELETE FROM {table} AS t WHERE EXISTS (SELECT 1 FROM _ml_keys AS k WHERE "
                    "k.source = t.source AND k.record_id = t.record_id AND k.turn IS NOT DISTINCT FROM t.turn)")
    finally:
        con.unregister("_ml_keys")
    return int(n)


def score_warehouse(con, scorer, chunk_size: int = 2000, log: Callable[[str], None] = lambda m: None,
                    texts: pd.DataFrame | None = None) -> ScoringSummary:
    """Score what is not yet scored by ``scorer``'s model (see the module doc). ``texts`` (columns source,
    record_id, turn, speaker, text) replaces the view as input (tests, backfills)."""
    started = time.perf_counter()
    ensure_tables(con)
    model_id = scorer.model_id
    summary = ScoringSummary(model_id=model_id)
    cur = current_texts(con) if texts is None else texts.copy()
    cur["text"] = cur["text"].where(cur["text"].notna(), "").astype(str)
    blank = cur["text"].str.strip().eq("")
    summary.blank_texts = int(blank.sum())
    cur = cur[~blank].reset_index(drop=True)
    cur["turn"] = cur["turn"].astype("Int64")
    cur["text_hash"] = [text_hash(t) for t in cur["text"]]
    summary.texts_current = {k: int(v) for k, v in cur.groupby("source").size().items()}

    # stale rows: keys no longer present (or now blank)
    keys_now = cur[["source", "record_id", "turn"]]
    con.register("_ml_now", keys_now)
    try:
        stale = con.execute(f"""SELECT DISTINCT source, record_id, turn FROM {SCORES_TABLE} AS t
                                WHERE NOT EXISTS (SELECT 1 FROM _ml_now AS k WHERE k.source = t.source AND
                                k.record_id = t.record_id AND k.turn IS NOT DISTINCT FROM t.turn)""").df()
        done = con.execute(f"SELECT source, record_id, turn, text_hash FROM {SCORES_TABLE} WHERE model_id = ?",
                           [model_id]).df()
    finally:
        con.unregister("_ml_now")
    touched_calls = set(stale.loc[stale["source"] == "calls", "record_id"])
    if not stale.empty:
        con.execute("BEGIN")
        summary.rows_deleted = _delete_keys(con, SCORES_TABLE, stale)
        _delete_keys(con, SENTENCES_TABLE, stale)
        con.execute("COMMIT")

    done["turn"] = done["turn"].astype("Int64")
    merged = cur.merge(done.assign(_done=True), on=["source", "record_id", "turn", "text_hash"], how="left")
    todo = merged[merged["_done"].isna()].drop(columns="_done").reset_index(drop=True)
    log(f"{len(todo)} of {len(cur)} texts to score with {model_id}")

    for start in range(0, len(todo), chunk_size):
        chunk = todo.iloc[start : start + chunk_size].reset_index(drop=True)
        sentences = [split_sentences(t) for t in chunk["text"]]
        strings = list(chunk["text"])
        for sents in sentences:
            if len(sents) > 1:
                strings.extend(sents)
        unique = list(dict.fromkeys(strings))
        t0 = time.perf_counter()
        scores = dict(zip(unique, scorer.score(unique)))
        summary.inference_seconds += time.perf_counter() - t0
        summary.strings_inferred += len(unique)
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        model = {"model_name": scorer.model_name, "model_version": scorer.model_version, "model_id": model_id,
                 "scored_at": now}
        text_rows, sent_rows = [], []
        for i, row in chunk.iterrows():
            s = scores[row["text"]]
            sents = sentences[i] or [row["text"].strip()]
            text_rows.append({"source": row["source"], "record_id": row["record_id"], "turn": row["turn"],
                              "speaker": row["speaker"], "text_hash": row["text_hash"], "n_chars": len(row["text"]),
                              "n_sentences": len(sents), "language": s.language, **_score_row(s),
                              "truncated": bool(s.truncated), **model})
            for n, sentence in enumerate(sents):
                ss = s if len(sents) == 1 else scores[sentence]
                summary.sentences_scored += int(len(sents) > 1)
                sent_rows.append({"source": row["source"], "record_id": row["record_id"], "turn": row["turn"],
                                  "speaker": row["speaker"], "sentence_no": n, "sentence_text": sentence,
                                  "text_hash": row["text_hash"], "language": ss.language, **_score_row(ss), **model})
        text_df = pd.DataFrame(text_rows)
        text_df["turn"] = text_df["turn"].astype("Int64")
        sent_df = pd.DataFrame(sent_rows)
        sent_df["turn"] = sent_df["turn"].astype("Int64")
        con.execute("BEGIN")
        _delete_keys(con, SCORES_TABLE, chunk)
        _delete_keys(con, SENTENCES_TABLE, chunk)
        _insert(con, SCORES_TABLE, text_df)
        _insert(con, SENTENCES_TABLE, sent_df)
        con.execute("COMMIT")
        for src, n in chunk.groupby("source").size().items():
            summary.texts_scored[src] = summary.texts_scored.get(src, 0) + int(n)
        touched_calls |= set(chunk.loc[chunk["source"] == "calls", "record_id"])
        log(f"scored {start + len(chunk)}/{len(todo)} texts")

    summary.calls_updated = update_call_sentiment(con, touched_calls, model_id)
    summary.seconds = round(time.perf_counter() - started, 3)
    summary.inference_seconds = round(summary.inference_seconds, 3)
    return summary


def call_label(score: float | None) -> str | None:
    if score is None:
        return None
    return "positive" if score >= CALL_LABEL_THRESHOLD else "negative" if score <= -CALL_LABEL_THRESHOLD else "neutral"


def update_call_sentiment(con, call_ids, model_id: str) -> int:
    """Recompute ``ml.call_sentiment`` for ``call_ids`` from their turn scores; also for any call whose
    row is missing or was computed with another model."""
    con.execute("CREATE TEMP TABLE IF NOT EXISTS _ml_calls (call_id VARCHAR)")
    con.execute("DELETE FROM _ml_calls")
    if call_ids:
        con.register("_ml_call_ids", pd.DataFrame({"call_id": sorted(call_ids)}))
        con.execute("INSERT INTO _ml_calls SELECT call_id FROM _ml_call_ids")
        con.unregister("_ml_call_ids")
    con.execute(f"""INSERT INTO _ml_calls
        SELECT DISTINCT s.record_id FROM {SCORES_TABLE} AS s LEFT JOIN {CALLS_TABLE} AS c ON c.call_id = s.record_id
        WHERE s.source = 'calls' AND (c.call_id IS NULL OR c.model_id <> s.model_id)""")
    turns = con.execute(f"""SELECT record_id, turn, speaker, sentiment_score, model_name, model_version, model_id
        FROM {SCORES_TABLE} WHERE source = 'calls' AND record_id IN (SELECT call_id FROM _ml_calls)
        ORDER BY record_id, turn""").df()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = []
    for call_id, g in turns.groupby("record_id", sort=True):
        cs = call_sentiment(zip(g["speaker"].fillna(""), g["sentiment_score"].astype(float)))
        rows.append({"call_id": call_id, "sentiment_label": call_label(cs.score), "sentiment_score": cs.score,
                     "start_score": cs.start_score, "end_score": cs.end_score, "delta": cs.delta,
                     "improved": cs.improved, "n_turns": cs.n_turns, "n_customer_turns": cs.n_customer_turns,
                     "model_name": g["model_name"].iloc[0], "model_version": g["model_version"].iloc[0],
                     "model_id": g["model_id"].iloc[0], "scored_at": now})
    con.execute("BEGIN")
    con.execute(f"DELETE FROM {CALLS_TABLE} WHERE call_id IN (SELECT call_id FROM _ml_calls)")
    if rows:
        _insert(con, CALLS_TABLE, pd.DataFrame(rows))
    con.execute("COMMIT")
    con.execute("DROP TABLE _ml_calls")
    return len(rows)


def table_counts(con) -> dict[str, dict[str, int]]:
    """Rows per source in each ml table (for asset metadata)."""
    out = {}
    for table in (SCORES_TABLE, SENTENCES_TABLE):
        out[table] = {s: int(n) for s, n in con.execute(f"SELECT source, count(*) FROM {table} GROUP BY 1 ORDER BY 1").fetchall()}
    out[CALLS_TABLE] = {"calls": int(con.execute(f"SELECT count(*) FROM {CALLS_TABLE}").fetchone()[0])}
    return out
