"""The key-driver algebra and the drop test, on cases with known answers."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from cem_pipeline.analytics.drivers import DriverSettings, key_drivers, relative_weights, weighted_cov
from cem_pipeline.analytics.drops import DropSettings, metric_alerts, metric_tests


def _cov_from_corr(corr, sd):
    return np.asarray(corr) * np.outer(sd, sd)


def _r2(corr, subset):
    """R² of y on the predictors in ``subset`` from a correlation matrix whose last row/column is y."""
    if not subset:
        return 0.0
    idx = list(subset)
    rxx = corr[np.ix_(idx, idx)]
    rxy = corr[idx, -1]
    return float(rxy @ np.linalg.solve(rxx, rxy))


def test_two_correlated_predictors_match_the_shapley_decomposition():
    # Textbook identity: with two predictors Johnson's relative weights equal the Shapley values of R²,
    # RW_1 = (r1² + R² - r2²) / 2, where R² = (r1² + r2² - 2 r1 r2 r12) / (1 - r12²).
    r1, r2, r12 = 0.5, 0.3, 0.4
    corr = np.array([[1, r12, r1], [r12, 1, r2], [r1, r2, 1]])
    weights, rsq, _ = relative_weights(_cov_from_corr(corr, [2.0, 0.5, 3.0]))
    expected_r2 = (r1 ** 2 + r2 ** 2 - 2 * r1 * r2 * r12) / (1 - r12 ** 2)
    assert rsq == pytest.approx(expected_r2)
    assert weights == pytest.approx([(r1 ** 2 + expected_r2 - r2 ** 2) / 2, (r2 ** 2 + expected_r2 - r1 ** 2) / 2])


def test_uncorrelated_predictors_get_their_squared_correlations():
    corr = np.eye(4)
    corr[:3, 3] = corr[3, :3] = [0.4, -0.2, 0.1]
    weights, rsq, _ = relative_weights(corr)
    assert weights == pytest.approx([0.16, 0.04, 0.01])
    assert rsq == pytest.approx(0.21)


def test_weights_sum_to_r2_and_track_the_general_dominance_weights():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5000, 4)) @ np.array([[1, .6, .3, 0], [0, 1, .5, .2], [0, 0, 1, .7], [0, 0, 0, 1]])
    y = x @ np.array([0.8, 0.0, -0.5, 0.3]) + rng.normal(size=5000)
    data = np.column_stack([x, y])
    corr = np.corrcoef(data, rowvar=False)
    weights, rsq, coef = relative_weights(np.cov(data, rowvar=False))
    assert weights.sum() == pytest.approx(rsq)
    ols = np.linalg.lstsq(np.column_stack([np.ones(len(x)), x]), y, rcond=None)[0][1:]
    assert coef == pytest.approx(ols, rel=1e-9)
    # General dominance (Shapley over every subset): relative weights stay within a few % of R².
    p = 4
    shapley = np.zeros(p)
    for j in range(p):
        others = [k for k in range(p) if k != j]
        for size in range(p):
            for subset in itertools.combinations(others, size):
                w = 1 / (p * len(list(itertools.combinations(others, size))))
                shapley[j] += w * (_r2(corr, subset + (j,)) - _r2(corr, subset))
    assert np.abs(weights - shapley).max() < 0.03 * rsq
    assert np.argmax(weights) == np.argmax(shapley)


def test_counted_cells_give_the_same_covariance_as_the_rows():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2, size=(400, 3)).astype(float)
    y = rng.integers(0, 11, size=400).astype(float)
    frame = pd.DataFrame(np.column_stack([x, y]), columns=["a", "b", "c", "y"])
    cells = frame.groupby(["a", "b", "c", "y"], as_index=False).size()
    counted = weighted_cov(cells[["a", "b", "c"]].to_numpy(), cells["y"].to_numpy(), cells["size"].to_numpy(float))
    assert counted == pytest.approx(np.cov(np.column_stack([x, y]), rowvar=False))


def test_key_drivers_recover_a_planted_effect_and_a_null_one():
    rng = np.random.default_rng(5)
    n = 6000
    kind = rng.choice(["late", "tidy", ""], size=n, p=[0.1, 0.1, 0.8])
    score = np.clip(np.round(8 + rng.normal(0, 1.5, n) - 3 * (kind == "late")), 0, 10)
    cells = (pd.DataFrame({"as_of_day": pd.Timestamp("2026-10-01"), "channel": "app", "journey_stage": "purchase",
                           "score": score, "drivers": np.where(kind == "", "", kind + "_negative")})
             .groupby(["as_of_day", "channel", "journey_stage", "score", "drivers"], as_index=False).size()
             .rename(columns={"size": "responses"}))
    out = key_drivers(cells, DriverSettings(bootstrap=200)).query("segment_kind == 'overall'").set_index("driver")
    late, tidy = out.loc["late_negative"], out.loc["tidy_negative"]
    assert late.effect_ci_low < -2.5 < late.effect_ci_high + 0.4 and late.direction == "lowers"
    assert tidy.effect_ci_low < 0 < tidy.effect_ci_high and tidy.direction == "no clear effect"
    assert late.importance > 10 * tidy.importance and late.fix_first_rank == 1
    assert late.importance_ci_low <= late.importance <= late.importance_ci_high
    assert late.share_affected == pytest.approx((kind == "late").mean())


def _windows(kind, value, nps_cur, n_cur, nps_base, n_base):
    def row(period, nps, n):
        # a symmetric split of the non-passives: the standard error as the dbt macro computes it
        p = (0.5 + nps / 200) * 0.7
        d = p - nps / 100
        se = 100 * np.sqrt((p + d - (p - d) ** 2) / n)
        return {"segment_kind": kind, "segment_value": value, "as_of_day": pd.Timestamp("2026-10-01"),
                "window_days": 7, "period": period, "nps_n": n, "nps": nps, "nps_standard_error": se,
                "csat_n": 0, "csat": None, "csat_standard_error": None, "ces_n": 0, "ces": None,
                "ces_standard_error": None}
    return [row("current", nps_cur, n_cur), row("baseline", nps_base, n_base)]


def test_a_big_drop_alerts_and_noise_across_many_segments_does_not():
    rows = _windows("store", "S1", -10, 300, 30, 1200)
    rng = np.random.default_rng(0)
    for k in range(200):  # segments whose small wobbles are noise
        rows += _windows("store", f"N{k}", 30 + rng.normal(0, 4), 300, 30, 1200)
    tests = metric_tests(pd.DataFrame(rows), DropSettings())
    alerts = metric_alerts(tests)
    assert list(alerts["segment_value"]) == ["S1"]
    alert = alerts.iloc[0]
    assert alert.change == pytest.approx(-40) and alert.change_ci_low < -40 < alert.change_ci_high
    assert alert.q_value <= 0.05 and alert.alert_type == "metric_drop" and alert.windows_flagged == "7d"
    # the same drop below the minimum sample size is not tested at all
    small = metric_tests(pd.DataFrame(_windows("store", "S1", -10, 20, 30, 1200)), DropSettings())
    assert small.empty
