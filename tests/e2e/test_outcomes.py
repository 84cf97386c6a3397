"""Experience -> outcomes in the pipeline (issue 17): the daily job on a world with 90 days of history, its
per-customer outcomes (dbt int_customer_outcomes) against the simulator's truth, the mart and the analysis
table. (The statistics are tested against the planted truth at 20k customers in
tests/integration/test_outcomes_truth.py.) The simulator's world starts on 2026-09-01 and the quality gate
refuses timestamps after the wall clock, so 90 days is as long as the world can be here: the 30-day outcome
is complete for most answers, the 90-day one for none yet."""

from __future__ import annotations

import numpy as np
import pytest

from cem_pipeline import schema
from cem_pipeline.analytics.outcomes import outcome_effects
from cem_pipeline.simulator.outcomes import truth_outcomes
from cem_pipeline.simulator.server import SimulatorServer
from tests.support.e2e import environment, failed_checks, pipeline_env, query, run_job

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def run(corpus, tmp_path_factory):
    sim = SimulatorServer(seed=5, customers=300, days=90, corpus=corpus).start()
    workdir = tmp_path_factory.mktemp("outcomes")
    env = pipeline_env(sim, workdir)
    try:
        with environment(env):
            result = run_job("daily_cx_rebuild")
    finally:
        sim.stop()
    assert result.success and not failed_checks(result), failed_checks(result)
    return sim, env["CEM_WAREHOUSE_PATH"]


def test_customer_outcomes_are_the_orders_that_followed_each_latest_answer(run):
    sim, warehouse = run
    truth = truth_outcomes(sim.world, sim.now).rename(columns={"response_id": "index_record_id"}) \
        .set_index(["horizon_days", "index_record_id"])
    mine = query(warehouse, "select * from intermediate.int_customer_outcomes where index_kind = 'nps' "
                            "and horizon_days > 0").set_index(["horizon_days", "index_record_id"])
    assert 30 in set(mine.index.get_level_values(0)) and len(mine) >= 30
    both = mine.join(truth, how="inner", rsuffix="_truth")
    # identity resolution decides whose answer it is (tested in test_identity): an answer with no identifier
    # has no customer (a quarter of the truth's cohort here); nearly every customer's index answer is the truth's
    assert len(both) >= 0.9 * len(mine) and len(both) >= 0.6 * len(truth)
    differ = both[both["nps_group"] != both["nps_group_truth"]]
    assert differ.empty, differ[["score", "score_truth", "nps_group", "nps_group_truth"]]
    assert (both["orders"] == both["orders_truth"]).mean() >= 0.95
    assert (both["repurchased"] == both["repurchased_truth"]).mean() >= 0.95
    np.testing.assert_allclose(np.median(both["net_spend"] - both["spend"]), 0, atol=1e-6)
    assert (both["member_tier"] == both["member_tier_truth"]).mean() >= 0.95
    assert (both["tenure_band"] == both["tenure_band_truth"]).mean() >= 0.95


def test_mart_and_effects_are_built_and_published(run):
    _, warehouse = run
    mart = query(warehouse, "select * from marts.mart_experience_outcomes")
    assert set(mart["dimension"]) == {"nps_group", "csat_band", "alert_status"}
    overall = mart[(mart["segment_kind"] == "overall") & (mart["horizon_days"] == 30)]
    assert (overall.groupby("dimension")["customers"].sum().loc[["nps_group", "alert_status"]].nunique()) == 1
    detractor = overall[(overall["dimension"] == "nps_group") & (overall["experience"] == "detractor")].iloc[0]
    assert detractor["current_customers"] > 0 and detractor["revenue_at_risk"] is not None
    effects = query(warehouse, f"select * from {schema.OUTCOME_EFFECTS_TABLE}")
    strata = query(warehouse, f"select * from {schema.OUTCOME_STRATA_INPUT}")
    expected = outcome_effects(strata)
    assert len(effects) == len(expected) >= 2  # repurchase and spend at 30 days (and 90, with churn, later)
    np.testing.assert_allclose(effects.sort_values(["horizon_days", "metric"])["naive_difference"].astype(float),
                               expected.sort_values(["horizon_days", "metric"])["naive_difference"].astype(float))
