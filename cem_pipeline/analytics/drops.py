"""Significant metric drops: each segment's NPS, CSAT and CES in the latest 1 and 7 days against the days before.

Input: ``intermediate.int_metric_windows`` — per segment (overall, store, channel, touchpoint, member tier),
window length and period (``current`` window ending on the latest day with a response, or its ``baseline``,
the 28 days before it), each metric with its n and standard error from the dbt macros (so every metric
formula and its variance stay in one place: NPS's is the promoter / detractor multinomial one, CSAT's a
proportion's, CES's a mean's).

For each segment x window x metric with at least ``min_current`` responses in the window and
``min_baseline`` in the baseline, the change (current - baseline) is tested one-sided for a drop with a
z-test, its standard error that of a difference of independent estimates, hypot(se_current, se_baseline). Across every test of a
run the false-discovery rate is held at ``fdr`` by Benjamini-Hochberg (scipy); a drop alerts when its
BH-adjusted q-value is at most ``fdr``. Under no drop at all, that bounds the chance that a run raises any
alert by ``fdr`` too. One alert per metric x segment x day (the more significant window, both named), its
``alert_id`` a hash of those, so reruns and the hourly runs of a day never alert twice. Each alert names the
drivers whose share of mentions moved most the harmful way in that segment (a negative driver up, a
positive one down), from ``intermediate.int_segment_driver_windows``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from cem_pipeline import schema

METRICS = ("nps", "csat", "ces")


@dataclass(frozen=True)
class DropSettings:
    fdr: float = 0.05
    level: float = 0.95  # of the change's interval
    min_current: int = 30
    min_baseline: int = 60
    top_drivers: int = 3


TEST_COLUMNS = schema.column_names(schema.METRIC_TESTS_COLUMNS)


def metric_tests(windows: pd.DataFrame, settings: DropSettings | None = None) -> pd.DataFrame:
    """Every test of the run (see the module doc), with its BH q-value and whether it is a significant drop."""
    settings = settings or DropSettings()
    keys = ["segment_kind", "segment_value", "as_of_day", "window_days"]
    numeric = [f"{m}{suffix}" for m in METRICS for suffix in ("", "_n", "_standard_error")]
    windows = windows.astype({c: float for c in numeric if c in windows.columns})
    current = windows[windows["period"] == "current"].set_index(keys)
    baseline = windows[windows["period"] == "baseline"].set_index(keys)
    both = current.join(baseline, lsuffix="_c", rsuffix="_b", how="inner")
    z_level = stats.norm.ppf(0.5 + settings.level / 2)
    frames = []
    for metric in METRICS:
        n_c, n_b = both[f"{metric}_n_c"].fillna(0), both[f"{metric}_n_b"].fillna(0)
        enough = (n_c >= settings.min_current) & (n_b >= settings.min_baseline)
        se = np.hypot(both[f"{metric}_standard_error_c"], both[f"{metric}_standard_error_b"])
        enough &= se > 0
        part = both[enough]
        se = se[enough]
        change = part[f"{metric}_c"] - part[f"{metric}_b"]
        z = change / se
        frames.append(pd.DataFrame({
            "metric": metric, "current_n": n_c[enough].astype(int), "baseline_n": n_b[enough].astype(int),
            "current_value": part[f"{metric}_c"], "baseline_value": part[f"{metric}_b"], "change": change,
            "change_ci_low": change - z_level * se, "change_ci_high": change + z_level * se, "z": z,
            "p_value": stats.norm.cdf(z),  # one-sided: how likely a change this low is without a drop
        }).reset_index())
    tests = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=TEST_COLUMNS)
    if tests.empty:
        return tests.reindex(columns=TEST_COLUMNS)
    tests["q_value"] = stats.false_discovery_control(tests["p_value"].to_numpy(), method="bh")
    tests["is_drop"] = (tests["q_value"] <= settings.fdr) & (tests["change"] < 0)
    return tests[TEST_COLUMNS].sort_values(["metric", "segment_kind", "segment_value", "window_days"],
                                           ignore_index=True)


# opened_at is stamped by the writer (cem_pipeline.analytics.tables)
ALERT_COLUMNS = [c for c in schema.column_names(schema.METRIC_ALERTS_COLUMNS) if c != "opened_at"]


def alert_id(metric: str, segment_kind: str, segment_value: str, as_of_day) -> str:
    return hashlib.sha256(f"metric_drop|{metric}|{segment_kind}|{segment_value}|{as_of_day}".encode()).hexdigest()[:24]


def drivers_moved(driver_windows: pd.DataFrame, segment_kind: str, segment_value: str, window_days: int,
                  top: int = 3) -> str:
    """'delivery_negative +24.0 pp (3.1% -> 27.1%); ...': the drivers whose share of the segment's responses
    moved most the harmful way between the baseline and the window."""
    rows = driver_windows[(driver_windows["segment_kind"] == segment_kind)
                          & (driver_windows["segment_value"] == segment_value)
                          & (driver_windows["window_days"] == window_days)]
    if rows.empty:
        return ""
    share = rows.assign(share=rows["mentions"] / rows["responses"]).pivot_table(
        index="driver", columns="period", values="share", aggfunc="sum").reindex(columns=["baseline", "current"])
    share = share.fillna(0.0)
    harm = (share["current"] - share["baseline"]) * np.where(share.index.str.endswith("_positive"), -1, 1)
    worst = harm[harm > 0].sort_values(ascending=False).head(top)
    return "; ".join(f"{d} {100 * (share.at[d, 'current'] - share.at[d, 'baseline']):+.1f} pp "
                     f"({100 * share.at[d, 'baseline']:.1f}% -> {100 * share.at[d, 'current']:.1f}%)"
                     for d in worst.index)


def metric_alerts(tests: pd.DataFrame, driver_windows: pd.DataFrame | None = None,
                  settings: DropSettings | None = None) -> pd.DataFrame:
    """One alert per metric x segment x as-of day with a significant drop in either window."""
    settings = settings or DropSettings()
    drops = tests[tests["is_drop"]]
    rows = []
    for (metric, kind, value, as_of), group in drops.groupby(["metric", "segment_kind", "segment_value", "as_of_day"],
                                                           sort=True):
        best = group.sort_values(["q_value", "window_days"]).iloc[0]
        rows.append({
            "alert_id": alert_id(metric, kind, value, as_of), "alert_type": "metric_drop", "as_of_day": as_of,
            "metric": metric, "segment_kind": kind, "segment_value": value,
            "window_days": int(best["window_days"]),
            "windows_flagged": ",".join(f"{int(w)}d" for w in sorted(group["window_days"])),
            **{c: best[c] for c in ("current_n", "baseline_n", "current_value", "baseline_value", "change",
                                    "change_ci_low", "change_ci_high", "p_value", "q_value")},
            "drivers_moved": drivers_moved(driver_windows, kind, value, int(best["window_days"]), settings.top_drivers)
            if driver_windows is not None else "",
        })
    return pd.DataFrame(rows, columns=ALERT_COLUMNS)
