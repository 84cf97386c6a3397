"""The one place that knows the warehouse's schema and table names, and the DDL of every table Python writes.

Layers (DESIGN.md §1): ``raw`` holds readable PII and is append-only; ``quarantine`` holds rows a
quality gate rejected; ``masked`` holds what the privacy gate lets through; dbt builds ``staging``,
``intermediate`` and ``marts`` (dbt-duckdb prefixes them with the profile's main schema, so the dbt
names are declared in ``dbt_project/dbt_project.yml`` and mirrored here for Python readers); ``ml``
holds the sentiment scores; ``ops`` the closed-loop delivery state. A source entity's staging model
and key column are derived in the catalogue (``Entity.staging_model``, ``Entity.staging_key``).
"""

from __future__ import annotations

import re

RAW = "raw"
QUARANTINE = "quarantine"
MASKED = "masked"
ML = "ml"
OPS = "ops"
ANALYTICS = "analytics"
STAGING = "staging"
INTERMEDIATE = "intermediate"
MARTS = "marts"

PUBLISHED_SCHEMAS = (MARTS, ANALYTICS)
PII_SCHEMAS = (RAW,)


def column_names(ddl: str) -> list[str]:
    """The column names of a column DDL below, in order (what readers and writers of that table agree on)."""
    lines = (re.sub(r"--[^\n]*", "", ddl)).split(",")
    return [part.split()[0] for part in lines if part.strip()]


def raw_table(entity_name: str) -> str:
    """Fully qualified raw table of a source entity, e.g. ``raw.crm_customers``."""
    return f"{RAW}.{entity_name}"


def masked_table(entity_name: str) -> str:
    return f"{MASKED}.{entity_name}"


# --- raw: landed records and the ledger of every load (cem_pipeline.warehouse, .ingest) -----------------

RAW_COLUMNS = """
    record_id VARCHAR,
    source_updated_at VARCHAR,
    _record JSON NOT NULL,
    _record_hash VARCHAR NOT NULL,
    _load_id VARCHAR NOT NULL,
    _ingested_at TIMESTAMP NOT NULL,
    _page_cursor VARCHAR,
    _page_no INTEGER NOT NULL,
    _row_no INTEGER NOT NULL
"""

LOAD_LEDGER = f"{RAW}.load_ledger"
LOAD_LEDGER_COLUMNS = """
    load_id VARCHAR PRIMARY KEY,
    entity VARCHAR NOT NULL,
    system VARCHAR NOT NULL,
    status VARCHAR NOT NULL,          -- started | committed | abandoned
    cursor_from VARCHAR,
    cursor_to VARCHAR,
    pages INTEGER,
    records_served BIGINT,
    rows_written BIGINT,
    duplicates_skipped BIGINT,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    suppressed BIGINT                 -- served but not kept: their subject was erased (cem_pipeline.privacy.erasure)
"""
# Ledger columns added after warehouses were first created: (column, type), added when missing (Warehouse.ensure_raw).
LOAD_LEDGER_ADDED_COLUMNS = (("suppressed", "BIGINT"),)

# A load's pages land in a scratch table raw._landing_<entity>_<id> first, moved into raw on commit.
LANDING_PREFIX = "_landing_"
LANDING_COLUMNS = """
    record_id VARCHAR, source_updated_at VARCHAR, _record VARCHAR, _record_hash VARCHAR,
    _page_cursor VARCHAR, _page_no INTEGER, _row_no INTEGER
"""

# --- masked and quarantine: what the gates write (cem_pipeline.gates) ---------------------------------------

MASKED_COLUMNS = """
    record_id VARCHAR,
    source_updated_at VARCHAR,
    _record JSON NOT NULL,
    _record_hash VARCHAR NOT NULL,
    _load_id VARCHAR NOT NULL,
    _ingested_at TIMESTAMP NOT NULL,
    _gated_at TIMESTAMP NOT NULL
"""

QUARANTINE_TABLE = f"{QUARANTINE}.quarantined_records"
QUARANTINE_COLUMNS = """
    entity VARCHAR NOT NULL,
    record_id VARCHAR,
    _load_id VARCHAR NOT NULL,
    _record_hash VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    field VARCHAR,
    value_masked VARCHAR,
    quarantined_at TIMESTAMP NOT NULL
"""

# Per load: rows in, passed, quarantined.
GATE_LEDGER = f"{QUARANTINE}.gate_ledger"
GATE_LEDGER_COLUMNS = """
    entity VARCHAR NOT NULL,
    load_id VARCHAR NOT NULL,
    rows_in BIGINT NOT NULL,
    passed BIGINT NOT NULL,
    quarantined BIGINT NOT NULL,
    unknown_fields VARCHAR,
    gated_at TIMESTAMP NOT NULL
"""

# Rows that passed but raised a warning rule (e.g. suspected mojibake): same shape as quarantine.
WARNINGS_TABLE = f"{QUARANTINE}.quality_warnings"
WARNINGS_COLUMNS = QUARANTINE_COLUMNS.replace("quarantined_at", "observed_at")

# Schema drift: fields the contract does not know, per load (the values stay in raw's record JSON).
DRIFT_TABLE = f"{QUARANTINE}.schema_drift"
DRIFT_COLUMNS = """
    entity VARCHAR NOT NULL,
    load_id VARCHAR NOT NULL,
    field VARCHAR NOT NULL,
    rows BIGINT NOT NULL,
    observed_at TIMESTAMP NOT NULL
"""

# --- ml: sentiment scores (cem_pipeline.nlp.store) ---------------------------------------------------------
# Mirrored by the dbt macro create_ml_tables (dbt_project/macros/ml_tables.sql), which creates them empty
# before any dbt run; tests/unit/test_ml_store.py keeps the two in step.

# What the ML assets score: a dbt view over staging (dbt_project/models/intermediate/int_feedback__texts.sql).
TEXTS_VIEW = f"{INTERMEDIATE}.int_feedback__texts"
SCORES_TABLE = f"{ML}.sentiment_scores"
SENTENCES_TABLE = f"{ML}.sentence_scores"
CALLS_TABLE = f"{ML}.call_sentiment"

_SCORE_COLS = [
    ("sentiment_label", "VARCHAR"), ("sentiment_score", "DOUBLE"),
    ("p_neg", "DOUBLE"), ("p_neu", "DOUBLE"), ("p_pos", "DOUBLE"),
]
_MODEL_COLS = [("model_name", "VARCHAR"), ("model_version", "VARCHAR"), ("model_id", "VARCHAR"),
               ("scored_at", "TIMESTAMP")]

ML_TABLES: dict[str, list[tuple[str, str]]] = {
    SCORES_TABLE: [
        ("source", "VARCHAR"), ("record_id", "VARCHAR"), ("turn", "INTEGER"), ("speaker", "VARCHAR"),
        ("text_hash", "VARCHAR"), ("n_chars", "INTEGER"), ("n_sentences", "INTEGER"), ("language", "VARCHAR"),
        *_SCORE_COLS, ("truncated", "BOOLEAN"), *_MODEL_COLS,
    ],
    SENTENCES_TABLE: [
        ("source", "VARCHAR"), ("record_id", "VARCHAR"), ("turn", "INTEGER"), ("speaker", "VARCHAR"),
        ("sentence_no", "INTEGER"), ("sentence_text", "VARCHAR"), ("text_hash", "VARCHAR"),
        ("language", "VARCHAR"), *_SCORE_COLS, *_MODEL_COLS,
    ],
    CALLS_TABLE: [
        ("call_id", "VARCHAR"), ("sentiment_label", "VARCHAR"), ("sentiment_score", "DOUBLE"),
        ("start_score", "DOUBLE"), ("end_score", "DOUBLE"), ("delta", "DOUBLE"), ("improved", "BOOLEAN"),
        ("n_turns", "INTEGER"), ("n_customer_turns", "INTEGER"), *_MODEL_COLS,
    ],
}

# --- ops: closed-loop alert delivery (cem_pipeline.alerts.delivery) ---------------------------------------

# CEM_ENGINE=spark: the DuckDB file is the serving copy of the lake's marts and ledgers (cem_pipeline.lake.serve),
# with every lake table's size here (the demo report's "rows per layer").
LAKE_TABLES = f"{OPS}.lake_tables"

ALERTS_MART = "mart_cx_alerts"
ALERTS_TABLE = f"{MARTS}.{ALERTS_MART}"
DELIVERIES_TABLE = f"{OPS}.alert_deliveries"
DELIVERY_COLUMNS = """
    alert_id VARCHAR PRIMARY KEY,
    status VARCHAR NOT NULL,          -- delivered | retrying | dead
    attempts INTEGER NOT NULL,
    first_attempt_at TIMESTAMP,
    last_attempt_at TIMESTAMP,
    next_attempt_at TIMESTAMP,
    delivered_at TIMESTAMP,
    last_error VARCHAR,
    target VARCHAR,
    response_status INTEGER
"""


# --- analytics: what the analysis assets write (assets/analytics.py, cem_pipeline.analytics) ----------------
# Their inputs are dbt models (intermediate.int_key_driver_cells, int_metric_windows, int_segment_driver_windows,
# int_outcome_strata).
KEY_DRIVER_INPUT = f"{INTERMEDIATE}.int_key_driver_cells"
METRIC_WINDOWS_INPUT = f"{INTERMEDIATE}.int_metric_windows"
DRIVER_WINDOWS_INPUT = f"{INTERMEDIATE}.int_segment_driver_windows"

KEY_DRIVERS_TABLE = f"{ANALYTICS}.mart_key_drivers"
KEY_DRIVERS_COLUMNS = """
    as_of_day DATE, segment_kind VARCHAR, segment_value VARCHAR, driver VARCHAR, topic VARCHAR,
    polarity VARCHAR, responses BIGINT, mentions BIGINT, share_affected DOUBLE, importance DOUBLE,
    importance_ci_low DOUBLE, importance_ci_high DOUBLE, importance_share DOUBLE, effect_points DOUBLE,
    effect_ci_low DOUBLE, effect_ci_high DOUBLE, direction VARCHAR, model_r2 DOUBLE, bootstrap_resamples INTEGER,
    mean_score_affected DOUBLE, mean_score_unaffected DOUBLE, fix_first_score DOUBLE, fix_first_rank INTEGER
"""

METRIC_TESTS_TABLE = f"{ANALYTICS}.metric_tests"
METRIC_TESTS_COLUMNS = """
    as_of_day DATE, metric VARCHAR, segment_kind VARCHAR, segment_value VARCHAR, window_days INTEGER,
    current_n BIGINT, baseline_n BIGINT, current_value DOUBLE, baseline_value DOUBLE, change DOUBLE,
    change_ci_low DOUBLE, change_ci_high DOUBLE, z DOUBLE, p_value DOUBLE, q_value DOUBLE, is_drop BOOLEAN
"""

METRIC_ALERTS_MART = "mart_metric_alerts"
METRIC_ALERTS_TABLE = f"{ANALYTICS}.{METRIC_ALERTS_MART}"
METRIC_ALERTS_COLUMNS = """
    alert_id VARCHAR, alert_type VARCHAR, as_of_day DATE, metric VARCHAR, segment_kind VARCHAR,
    segment_value VARCHAR, window_days INTEGER, windows_flagged VARCHAR, current_n BIGINT, baseline_n BIGINT,
    current_value DOUBLE, baseline_value DOUBLE, change DOUBLE, change_ci_low DOUBLE, change_ci_high DOUBLE,
    p_value DOUBLE, q_value DOUBLE, drivers_moved VARCHAR, opened_at TIMESTAMP
"""

OUTCOME_STRATA_INPUT = f"{INTERMEDIATE}.int_outcome_strata"
OUTCOME_EFFECTS_MART = "mart_outcome_effects"
OUTCOME_EFFECTS_TABLE = f"{ANALYTICS}.{OUTCOME_EFFECTS_MART}"
OUTCOME_EFFECTS_COLUMNS = """
    as_of_day DATE, horizon_days INTEGER, metric VARCHAR, comparison VARCHAR, adjusted_for VARCHAR,
    promoters BIGINT, detractors BIGINT, naive_difference DOUBLE, naive_ci_low DOUBLE, naive_ci_high DOUBLE,
    adjusted_difference DOUBLE, adjusted_ci_low DOUBLE, adjusted_ci_high DOUBLE, adjusted_standard_error DOUBLE,
    strata_used INTEGER, strata_dropped INTEGER
"""

# --- privacy operations: erasure on request and key rotation (cem_pipeline.privacy.erasure, .rotation) -------
# None of these tables holds a readable value or a PII token: subjects are named by suppression tokens, keyed
# HMACs under the suppression key (a random key kept sealed by the PII key below, so it survives rotation).

SUPPRESSION_KEY_TABLE = f"{OPS}.privacy_suppression_key"
SUPPRESSION_KEY_COLUMNS = """
    key_id VARCHAR PRIMARY KEY,
    sealed_with VARCHAR NOT NULL,     -- fingerprint of the PII key that seals it
    nonce VARCHAR NOT NULL,
    sealed VARCHAR NOT NULL,          -- the suppression key XOR HMAC(PII key, nonce), hex
    mac VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    resealed_at TIMESTAMP
"""

# Identifiers, record ids and references of erased subjects: raw landing and the gates drop what matches.
SUPPRESSIONS_TABLE = f"{OPS}.privacy_suppressions"
SUPPRESSIONS_COLUMNS = """
    token VARCHAR PRIMARY KEY,        -- erased:<kind>/<hex> (phone, email, member_id, wechat_id, social_handle, record)
    kind VARCHAR NOT NULL,
    erasure_id VARCHAR NOT NULL,
    added_at TIMESTAMP NOT NULL
"""

ERASURE_LEDGER = f"{OPS}.erasure_ledger"
ERASURE_LEDGER_COLUMNS = """
    erasure_id VARCHAR PRIMARY KEY,
    status VARCHAR NOT NULL,          -- started | done
    requested_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    requests INTEGER NOT NULL,
    request_tokens VARCHAR[] NOT NULL,  -- suppression tokens of the identifiers asked for
    customers INTEGER NOT NULL,       -- customer keys erased (kept as tombstones in the key map)
    records INTEGER NOT NULL,         -- staged records resolved to the subjects
    counts JSON,                      -- rows removed per table (and outbox lines)
    delivered_alert_ids VARCHAR[]     -- alerts already posted to the webhook: ask the receiver to delete them
"""

# What an unfinished erasure resolved (customer keys, staged record ids as stored past raw, alert ids): a rerun
# after a crash finishes from it. Emptied when the erasure is done.
ERASURE_PLAN = f"{OPS}.erasure_plan"
ERASURE_PLAN_COLUMNS = """
    erasure_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,            -- customer_key | record | alert
    entity VARCHAR,
    value VARCHAR NOT NULL
"""

KEY_ROTATIONS = f"{OPS}.key_rotations"
KEY_ROTATIONS_COLUMNS = """
    rotation_id VARCHAR PRIMARY KEY,
    status VARCHAR NOT NULL,          -- started | done
    old_key_fingerprint VARCHAR NOT NULL,
    new_key_fingerprint VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    counts JSON                       -- tokens mapped, rows rewritten per table
"""

# One row per finished step of an erasure or a rotation, written in the step's own transaction.
PRIVACY_PROGRESS = f"{OPS}.privacy_progress"
PRIVACY_PROGRESS_COLUMNS = """
    operation_id VARCHAR NOT NULL,
    step VARCHAR NOT NULL,
    rows BIGINT,
    done_at TIMESTAMP NOT NULL,
    PRIMARY KEY (operation_id, step)
"""

PRIVACY_TABLES = {
    SUPPRESSION_KEY_TABLE: SUPPRESSION_KEY_COLUMNS, SUPPRESSIONS_TABLE: SUPPRESSIONS_COLUMNS,
    ERASURE_LEDGER: ERASURE_LEDGER_COLUMNS, ERASURE_PLAN: ERASURE_PLAN_COLUMNS,
    KEY_ROTATIONS: KEY_ROTATIONS_COLUMNS, PRIVACY_PROGRESS: PRIVACY_PROGRESS_COLUMNS,
}
IDENTITY_KEY_MAP = f"{INTERMEDIATE}.int_identity__key_map"
IDENTITY_EVIDENCE = f"{INTERMEDIATE}.int_identity__evidence"
IDENTITY_RECORD_KEYS = f"{INTERMEDIATE}.int_identity__record_keys"
