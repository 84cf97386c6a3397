"""Freshness expectations: every published mart is rebuilt by the hourly job, so the UI warns when one
has not been updated for two hours and marks it failed after six."""

from datetime import timedelta

import dagster as dg

PUBLISHED_PREFIXES = ("mart_", "fct_", "dim_")
MART_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=6), warn_window=timedelta(hours=2))
# What only the daily job refreshes (tag cadence=daily: mart_key_drivers): warn after a missed night, fail after two.
DAILY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=50), warn_window=timedelta(hours=26))


def _with_freshness(spec: dg.AssetSpec) -> dg.AssetSpec:
    if spec.tags.get("cadence") == "daily":
        return spec.replace_attributes(freshness_policy=DAILY_FRESHNESS)
    if spec.key.to_user_string().startswith(PUBLISHED_PREFIXES):
        return spec.replace_attributes(freshness_policy=MART_FRESHNESS)
    return spec


def with_mart_freshness(assets):
    """The same assets, with the freshness policy attached to every published mart."""
    return dg.map_asset_specs(_with_freshness, assets)
