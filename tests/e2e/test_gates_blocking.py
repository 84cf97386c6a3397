"""A batch whose quarantine share crosses the threshold fails the blocking check of its masked asset in
a real materialization: the dbt staging model of that source is not built in that run, and the check
says why."""

from __future__ import annotations

import dagster as dg
import pytest

from tests.support.e2e import environment, pipeline_env

pytestmark = pytest.mark.e2e


def test_bad_batch_blocks_staging(tmp_path, make_simulator):
    from definitions import defs

    sim = make_simulator(seed=3, customers=60)
    sim.set_faults(record_faults={"surveys": ["nps_out_of_range"] * 40})
    keys = [dg.AssetKey("raw_surveys"), dg.AssetKey("masked_surveys"), dg.AssetKey("stg_surveys__responses")]
    with environment(pipeline_env(sim, tmp_path)):
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            asset_selection=keys, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "masked_surveys" in materialized and "stg_surveys__responses" not in materialized
    evaluations = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    blocking = next(ev for ev in evaluations if ev.check_name == "quarantine_share_below_threshold")
    assert not blocking.passed and "quarantined" in blocking.description and "score_out_of_range" in str(blocking.metadata)
    warn = next(ev for ev in evaluations if ev.check_name == "no_rows_quarantined")
    assert not warn.passed and warn.severity == dg.AssetCheckSeverity.WARN
