{#
  The ml.* tables the Dagster ML assets write (cem_pipeline/nlp/store.py TABLES), created empty when
  missing so that dbt never reads a table that does not exist (fresh warehouse, ml group never run).
  Runs as an on-run-start hook (dbt_project.yml). Keep in step with store.TABLES
  (tests/unit/test_ml_store.py compares them).
#}
{% macro create_ml_tables() -%}
create schema if not exists ml;
create table if not exists ml.sentiment_scores (
    source VARCHAR, record_id VARCHAR, turn INTEGER, speaker VARCHAR, text_hash VARCHAR, n_chars INTEGER,
    n_sentences INTEGER, language VARCHAR, sentiment_label VARCHAR, sentiment_score DOUBLE, p_neg DOUBLE,
    p_neu DOUBLE, p_pos DOUBLE, truncated BOOLEAN, model_name VARCHAR, model_version VARCHAR, model_id VARCHAR,
    scored_at TIMESTAMP
);
create table if not exists ml.sentence_scores (
    source VARCHAR, record_id VARCHAR, turn INTEGER, speaker VARCHAR, sentence_no INTEGER, sentence_text VARCHAR,
    text_hash VARCHAR, language VARCHAR, sentiment_label VARCHAR, sentiment_score DOUBLE, p_neg DOUBLE,
    p_neu DOUBLE, p_pos DOUBLE, model_name VARCHAR, model_version VARCHAR, model_id VARCHAR, scored_at TIMESTAMP
);
create table if not exists ml.call_sentiment (
    call_id VARCHAR, sentiment_label VARCHAR, sentiment_score DOUBLE, start_score DOUBLE, end_score DOUBLE,
    delta DOUBLE, improved BOOLEAN, n_turns INTEGER, n_customer_turns INTEGER, model_name VARCHAR,
    model_version VARCHAR, model_id VARCHAR, scored_at TIMESTAMP
);
{%- endmacro %}
