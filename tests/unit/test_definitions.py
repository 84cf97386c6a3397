"""The code location loads the way `dagster dev` loads it, with every asset, check, schedule and sensor."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cem_pipeline.sources.catalog import ENTITIES
from tests.support import REPO



def test_workspace_yaml_loads_like_dagster_dev(tmp_path):
    dagster = Path(sys.executable).with_name("dagster")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "PATH": f"{dagster.parent}:{os.environ['PATH']}"}
    done = subprocess.run([str(dagster), "definitions", "validate", "-w", "workspace.yaml"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All code locations passed validation" in done.stdout + done.stderr


def test_definitions_hold_the_whole_graph():
    from definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for e in ENTITIES:
        assert f"raw_{e.name}" in keys and f"masked_{e.name}" in keys
    assert {"stg_surveys__responses", "fct_feedback", "mart_nps_daily"} <= keys
    # dbt sources are the masked assets: staging hangs off them, not off raw.
    stg = graph.get(next(k for k in graph.get_all_asset_keys() if k.to_user_string() == "stg_surveys__responses"))
    assert {p.to_user_string() for p in stg.parent_keys} == {"masked_surveys"}
    # The quarantine tables have no asset: the dbt quality report waits for every gate that writes them.
    ledger = graph.get(next(k for k in graph.get_all_asset_keys() if k.to_user_string() == "stg_quarantine__gate_ledger"))
    assert {p.to_user_string() for p in ledger.parent_keys} == {f"masked_{e.name}" for e in ENTITIES}
    assert "quality_report" in keys
    checks = {c.name for c in graph.asset_check_keys}
    assert {"quarantine_share_below_threshold", "reconciles_with_raw"} <= checks
    assert any(name.startswith("unique_") for name in checks), "dbt tests are asset checks"
    assert {s.name for s in defs.schedules} == {"hourly_cx_refresh_schedule", "daily_cx_rebuild_schedule"}
    assert {s.name for s in defs.sensors} >= {"report_failed_runs", "deliver_cx_alerts"}
    assert {j.name for j in defs.jobs} >= {"hourly_cx_refresh", "daily_cx_rebuild", "backfill_cx_marts"}
    for schedule in defs.schedules:
        assert schedule.execution_timezone == os.environ.get("CEM_TIMEZONE", "Asia/Shanghai")


def test_every_asset_explains_itself():
    from definitions import defs

    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        name = key.to_user_string()
        assert node.group_name and node.group_name != "default", f"{name} has no group"
        assert node.owners, f"{name} has no owner"
        if not name.startswith(("raw_", "masked_")):
            continue
        assert node.description, f"{name} has no description"


def test_every_published_mart_has_a_freshness_expectation():
    from assets.freshness import DAILY_FRESHNESS, MART_FRESHNESS
    from definitions import defs

    graph = defs.resolve_asset_graph()
    marts = [k for k in graph.get_all_asset_keys() if k.to_user_string().startswith(("mart_", "fct_", "dim_"))]
    assert len(marts) >= 2
    for key in marts:
        policy = graph.get(key).freshness_policy
        assert policy is not None, f"{key.to_user_string()} has no freshness policy"
        daily = graph.get(key).tags.get("cadence") == "daily"  # the key drivers: the daily job only
        assert policy == (DAILY_FRESHNESS if daily else MART_FRESHNESS), key.to_user_string()
