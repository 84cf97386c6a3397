"""The jobs: what each run materializes. Schedules (sensors/schedules.py) start the first two."""

from __future__ import annotations

import dagster as dg

from assets.analytics import KEY_DRIVERS_KEY, OUTCOME_EFFECTS_KEY

# The hourly job leaves out scoring, the key drivers (a daily analysis over 90 days of answers) and the outcome
# effects (30/90-day windows that a day's hours do not change).
RAW_TO_MARTS = (dg.AssetSelection.all() - dg.AssetSelection.groups("ml")
                - dg.AssetSelection.assets(KEY_DRIVERS_KEY, OUTCOME_EFFECTS_KEY))

hourly_job = dg.define_asset_job(
    "hourly_cx_refresh", selection=RAW_TO_MARTS,
    description="Incremental: new source changes since each cursor -> gates -> staging -> marts.",
    tags={"cadence": "hourly"},
)
daily_job = dg.define_asset_job(
    "daily_cx_rebuild", selection=dg.AssetSelection.all(),
    description="Everything, with a full rebuild of staging and marts.",
    tags={"cadence": "daily"},
)

# A backfill over a day range, from the UI's launchpad or the CLI, e.g.
#   dagster job launch -w workspace.yaml -j backfill_cx_marts --config-json \
#     '{"ops": {"cem_dbt_models": {"config": {"backfill_start": "2026-09-01", "backfill_end": "2026-09-07"}}}}'
# It rebuilds those days of every incremental mart from staging (delete + insert): idempotent, so a
# rerun gives identical tables.
backfill_job = dg.define_asset_job(
    "backfill_cx_marts", selection=dg.AssetSelection.groups("marts", "analytics", "publish"),
    description="Rebuild the marts for a day range (config: backfill_start, backfill_end), then republish.",
    tags={"cadence": "backfill"},
)

jobs = [hourly_job, daily_job, backfill_job]
