"""The persistent customer_key map: append-only history of the key each anchor record (CRM customer
or member) holds. Incremental and never fully refreshed, so keys survive every rebuild: new components
get new keys, a merge keeps the oldest key (the other key becomes an alias), a split keeps the key
where most of its anchors are. See cem_pipeline.identity.assign_keys."""

import pandas as pd

from cem_pipeline.identity import KEY_MAP_COLUMNS, assign_keys


def model(dbt, session):
    dbt.config(materialized="incremental", incremental_strategy="append", full_refresh=False)
    resolution = dbt.ref("int_identity__resolution").df()
    resolution = resolution[resolution["is_anchor"]]
    history = None
    if dbt.is_incremental:
        history = session.sql(f"select {', '.join(KEY_MAP_COLUMNS)} from {dbt.this}").df()
    rows = assign_keys(resolution, history)
    rows["assigned_at"] = pd.Timestamp.now(tz="UTC").tz_localize(None)
    rows["previous_key"] = rows["previous_key"].astype("float64")
    return rows
