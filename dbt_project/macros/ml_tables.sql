{#
  The ml.* tables the Dagster ML assets write (cem_pipeline/nlp/store.py TABLES), created empty when
  missing so that dbt never reads a table that does not exist (fresh warehouse, ml group never run).
  Runs as an on-run-start hook (dbt_project.yml). Keep in step with store.TABLES
  (tests/unit/test_ml_store.py runs ml_tables_ddl on DuckDB and compares the columns).
  Type names common to both engines (DuckDB reads STRING as VARCHAR; Spark has no VARCHAR without a length).
#}
{% macro ml_tables_ddl() -%}
create schema if not exists ml;
create table if not exists ml.sentiment_scores (
    source STRING, record_id STRING, turn INTEGER, speaker STRING, text_hash STRING, n_chars INTEGER,
    n_sentences INTEGER, language STRING, sentiment_label STRING, sentiment_score DOUBLE, p_neg DOUBLE,
    p_neu DOUBLE, p_pos DOUBLE, truncated BOOLEAN, model_name STRING, model_version STRING, model_id STRING,
    scored_at TIMESTAMP
);
create table if not exists ml.sentence_scores (
    source STRING, record_id STRING, turn INTEGER, speaker STRING, sentence_no INTEGER, sentence_text STRING,
    text_hash STRING, language STRING, sentiment_label STRING, sentiment_score DOUBLE, p_neg DOUBLE,
    p_neu DOUBLE, p_pos DOUBLE, model_name STRING, model_version STRING, model_id STRING, scored_at TIMESTAMP
);
create table if not exists ml.call_sentiment (
    call_id STRING, sentiment_label STRING, sentiment_score DOUBLE, start_score DOUBLE, end_score DOUBLE,
    delta DOUBLE, improved BOOLEAN, n_turns INTEGER, n_customer_turns INTEGER, model_name STRING,
    model_version STRING, model_id STRING, scored_at TIMESTAMP
);
{%- endmacro %}

{# One statement at a time (Spark runs one per call), each table in the engine's table format. #}
{% macro create_ml_tables() -%}
    {%- if execute %}
        {%- for statement in ml_tables_ddl().split(';') if statement.strip() %}
            {%- do run_query(statement ~ (' ' ~ table_format() if 'create table' in statement else '')) %}
        {%- endfor %}
    {%- endif %}
{%- endmacro %}
