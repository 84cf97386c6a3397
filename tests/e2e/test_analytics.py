"""The analyses in the pipeline (issue 16): the dbt inputs against the simulator's truth, the analysis tables
the assets write, their publication and the metric-alert delivery. (The statistics themselves are tested
against the planted truth at 20k customers in tests/integration/test_analytics_truth.py.)"""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from cem_pipeline import schema
from cem_pipeline.analytics.drivers import DriverSettings, key_drivers
from cem_pipeline.analytics.drops import DropSettings, metric_tests
from cem_pipeline.simulator import experience as X
from tests.support.analytics_truth import truth_windows
from tests.support.e2e import query

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def daily(shared):
    return shared.daily


def test_survey_drivers_are_the_planted_experiences(shared, daily):
    truth = shared.sim.world.truth_surveys(daily.now).set_index("response_id")
    staged = query(daily.warehouse, "select record_id, survey_type, score, drivers from intermediate.int_survey_drivers")
    assert set(staged["record_id"]) == set(truth.index)
    staged = staged.join(truth[["experience", "score"]], on="record_id", rsuffix="_truth")
    assert (staged["score"] == staged["score_truth"]).all()
    topics = query(daily.warehouse, "select distinct record_id, topic from intermediate.int_topic_mentions "
                                    "where source = 'surveys'")
    mentioned = topics.groupby("record_id")["topic"].agg(set)
    experienced = staged[staged["experience"].notna()]
    assert len(experienced) >= 30
    topic_of = {d.name: d.topic for d in X.DRIVERS}
    # every planted experience is mentioned by its comment, and only that topic
    for row in experienced.itertuples():
        assert mentioned.get(row.record_id) == {topic_of[row.experience]}, row
        assert all(d.rpartition("_")[0] == topic_of[row.experience] for d in row.drivers.split("|") if d)
    # a response with nothing planted mentions no topic
    quiet = staged[staged["experience"].isna() & (staged["survey_type"] == "nps")]
    assert (quiet["drivers"] == "").mean() >= 0.99


def test_metric_windows_equal_the_truth(shared, daily):
    windows = query(daily.warehouse, f"select * from {schema.METRIC_WINDOWS_INPUT}")
    as_of = windows["as_of_day"].max()
    assert (windows["as_of_day"] == as_of).all()
    truth = truth_windows(shared.sim.world, pd.Timestamp(as_of).date(), now=daily.now)
    keys = ["segment_kind", "segment_value", "window_days", "period"]
    # member tiers depend on identity resolution (tested in test_identity); the other segments are exact
    mine = windows[windows["segment_kind"] != "member_tier"].set_index(keys).sort_index()
    theirs = truth[truth["segment_kind"] != "member_tier"].set_index(keys).sort_index()
    assert list(mine.index) == list(theirs.index)
    for column in ("nps_n", "csat_n", "ces_n"):
        assert (mine[column].to_numpy() == theirs[column].to_numpy()).all(), column
    for column in ("nps", "nps_margin_of_error", "nps_standard_error", "csat", "csat_standard_error", "ces",
                   "ces_standard_error"):
        np.testing.assert_allclose(mine[column].astype(float), theirs[column].astype(float), atol=1e-4)


def test_the_analysis_tables_are_what_the_functions_give_on_the_inputs(daily):
    tests = query(daily.warehouse, f"select * from {schema.METRIC_TESTS_TABLE}")
    windows = query(daily.warehouse, f"select * from {schema.METRIC_WINDOWS_INPUT}")
    expected = metric_tests(windows, DropSettings(min_current=5, min_baseline=10))
    assert len(tests) == len(expected) > 0
    np.testing.assert_allclose(tests["p_value"].sort_values(), expected["p_value"].sort_values(), rtol=1e-9)
    alerts = query(daily.warehouse, f"select * from {schema.METRIC_ALERTS_TABLE}")
    assert set(alerts["alert_id"]).isdisjoint(query(daily.warehouse, "select alert_id from marts.mart_cx_alerts")["alert_id"])
    # The e2e scorer is a tiny random model (tests/support/ml.py): it calls nearly every sentence neutral, so
    # the comments carry no drivers here; the next test gives the asset the planted ones.
    drivers = query(daily.warehouse, f"select * from {schema.KEY_DRIVERS_TABLE}")
    cells = query(daily.warehouse, f"select * from {schema.KEY_DRIVER_INPUT}")
    nps = query(daily.warehouse, "select count(*) as n from intermediate.int_survey_drivers where survey_type = 'nps'")
    assert cells["responses"].sum() == nps["n"].iloc[0] > 0  # every NPS answer of the 90 days is counted once
    assert len(drivers) == len(key_drivers(cells, DriverSettings(bootstrap=100, min_responses=40, min_mentions=3)))


def test_the_key_driver_asset_analyses_its_input(shared, tmp_path):
    """mart_key_drivers on a copy of the daily state whose input holds the planted drivers."""
    import dagster as dg
    import duckdb

    from assets.analytics import mart_key_drivers
    from assets.resources import CemSettings
    from tests.support.analytics_truth import truth_cells
    from tests.support.e2e import environment

    env = shared.private_copy(shared.daily, tmp_path)
    cells = truth_cells(shared.sim.world, shared.daily.now)
    with duckdb.connect(env["CEM_WAREHOUSE_PATH"]) as con:
        con.register("cells", cells)
        con.execute(f"CREATE OR REPLACE TABLE {schema.KEY_DRIVER_INPUT} AS SELECT * FROM cells")
    with environment(env):
        assert dg.materialize([mart_key_drivers], resources={"cem": CemSettings()}).success
    drivers = query(env["CEM_WAREHOUSE_PATH"], f"select * from {schema.KEY_DRIVERS_TABLE}")
    expected = key_drivers(cells, DriverSettings(bootstrap=100, min_responses=40, min_mentions=3))
    assert len(drivers) == len(expected) > 0
    np.testing.assert_allclose(drivers["importance"], expected["importance"], rtol=1e-9)
    overall = drivers[drivers["segment_kind"] == "overall"].set_index("driver")
    assert overall["importance"].sum() == pytest.approx(overall["model_r2"].iloc[0])
    assert ((overall["importance_ci_low"] <= overall["importance"])
            & (overall["importance"] <= overall["importance_ci_high"])).all()
    assert overall.loc["delivery_negative", "effect_points"] < 0  # the strongest planted driver


def test_analysis_tables_are_published(daily):
    published = query(daily.bi_file, "select table_schema, table_name from information_schema.tables")
    names = set(published["table_schema"] + "." + published["table_name"])
    assert {schema.KEY_DRIVERS_TABLE, schema.METRIC_ALERTS_TABLE, schema.METRIC_TESTS_TABLE} <= names
    assert not any(n.startswith(("raw.", "masked.", "intermediate.")) for n in names)
