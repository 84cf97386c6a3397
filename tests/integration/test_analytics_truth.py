"""Key drivers and metric-drop alerts against the simulator's planted truth (issue 16), at 20k customers.

The analyses run on their inputs as computed from the truth (tests/support/analytics_truth.py: the observed
driver of a response is its planted experience), so these test the statistics; tests/e2e/test_analytics.py
tests that the pipeline builds those inputs, and bench/analytics.py measures the whole chain with the real
sentiment model and more seeds."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy.stats import spearmanr

from cem_pipeline.analytics.drivers import DriverSettings, key_drivers
from cem_pipeline.analytics.drops import metric_alerts, metric_tests
from cem_pipeline.simulator.world import START, World
from tests.support.analytics_truth import truth_cells, truth_windows

CUSTOMERS = 20_000


@pytest.fixture(scope="module")
def worlds(corpus):
    return {seed: World(seed=seed, customers=CUSTOMERS, corpus=corpus) for seed in (1, 2, 3, 4, 5)}


def test_key_drivers_rank_the_planted_drivers_and_leave_zero_ones_at_zero(worlds):
    covered, intervals, per_driver = 0, 0, {}
    for seed, world in worlds.items():
        truth = world.truth_drivers().set_index("driver")
        found = key_drivers(truth_cells(world, world.end), DriverSettings(bootstrap=300, seed=seed))
        overall = found[found["segment_kind"] == "overall"].set_index("driver")
        nonzero = truth.index[truth["effect_points"] != 0]
        rho = spearmanr(overall.loc[nonzero, "importance"], truth.loc[nonzero, "importance"]).statistic
        assert rho >= 0.9, (seed, rho)
        signs = np.sign(overall.loc[nonzero, "effect_points"]) == np.sign(truth.loc[nonzero, "effect_points"])
        assert signs.all(), (seed, overall.loc[nonzero, "effect_points"])
        for driver in truth.index[truth["effect_points"] == 0]:
            row = overall.loc[driver]
            intervals += 1
            ok = bool(row.effect_ci_low <= 0 <= row.effect_ci_high)
            covered += ok
            per_driver[driver] = per_driver.get(driver, 0) + ok
        top = overall.sort_values("fix_first_rank").index[0]
        assert top == truth["importance"].idxmax()  # fix first what hurts most
        for kind in ("channel", "journey_stage"):
            assert (found["segment_kind"] == kind).any()
    assert covered >= 0.9 * intervals, f"zero-driver intervals covering 0: {covered}/{intervals}"
    # Per driver the bar is 90% of seeds; 5 seeds cannot resolve that (bench/analytics.py runs 20), so
    # here each zero driver may miss once at most.
    assert all(n >= len(worlds) - 1 for n in per_driver.values()), per_driver


def _caught(world, drop) -> bool:
    as_of = drop.first_day + dt.timedelta(days=1)  # the run after the drop's first full day
    alerts = metric_alerts(metric_tests(truth_windows(world, as_of)))
    return bool(((alerts["metric"] == "nps") & (alerts["segment_kind"] == drop.segment)
                 & (alerts["segment_value"] == drop.value)).any())


def test_planted_drops_are_caught_within_a_day(worlds):
    eligible, caught = 0, 0
    for world in list(worlds.values())[:3]:
        for drop in world.truth_drops().itertuples():
            if drop.true_nps_drop >= 10 and drop.responses_first_two_days >= 100:
                eligible += 1
                caught += _caught(world, drop)
    assert eligible >= 4
    assert caught >= 0.9 * eligible, f"caught {caught} of {eligible} planted drops"


def test_the_control_world_rarely_alerts(corpus):
    runs, alerting = 0, 0
    for seed in (11, 12):
        world = World(seed=seed, customers=CUSTOMERS, corpus=corpus, drops=False)
        assert world.truth_drops().empty
        for day in range(24, 44, 2):
            alerts = metric_alerts(metric_tests(truth_windows(world, START.date() + dt.timedelta(days=day))))
            runs += 1
            alerting += len(alerts) > 0
    assert alerting <= 0.05 * runs, f"{alerting} of {runs} control runs raised an alert"
