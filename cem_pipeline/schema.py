"""The one place that knows the warehouse's schema and table names.

Layers (DESIGN.md §1): ``raw`` holds readable PII and is append-only; ``quarantine`` holds rows a
quality gate rejected; ``masked`` holds what the privacy gate lets through; dbt builds ``staging``,
``intermediate`` and ``marts`` (dbt-duckdb prefixes them with the profile's main schema, so the dbt
names are declared in ``dbt_project/dbt_project.yml`` and mirrored here for Python readers).
"""

from __future__ import annotations

RAW = "raw"
QUARANTINE = "quarantine"
MASKED = "masked"
ML = "ml"
STAGING = "staging"
INTERMEDIATE = "intermediate"
MARTS = "marts"

# Bookkeeping tables live beside the data they describe.
LOAD_LEDGER = f"{RAW}.load_ledger"
QUARANTINE_TABLE = f"{QUARANTINE}.quarantined_records"

PUBLISHED_SCHEMAS = (MARTS,)
PII_SCHEMAS = (RAW,)


# entity -> (its dbt staging model, that model's key column); the key equals masked.record_id (a token
# where the source id is itself an identifier, e.g. the member id).
STAGING_MODELS = {
    "crm_customers": ("stg_crm__customers", "customer_id"),
    "crm_members": ("stg_crm__members", "member_token"),
    "crm_orders": ("stg_crm__orders", "order_id"),
    "crm_stores": ("stg_crm__stores", "store_id"),
    "reviews": ("stg_reviews__reviews", "review_id"),
    "social_posts": ("stg_social__posts", "post_id"),
    "calls": ("stg_calls__calls", "call_id"),
    "surveys": ("stg_surveys__responses", "response_id"),
}


def raw_table(entity_name: str) -> str:
    """Fully qualified raw table of a source entity, e.g. ``raw.crm_customers``."""
    return f"{RAW}.{entity_name}"


def masked_table(entity_name: str) -> str:
    return f"{MASKED}.{entity_name}"
