"""The outcome analysis' input computed from the simulator's truth (an oracle of the dbt model
int_outcome_strata: the cohort, strata and realized orders of simulator/outcomes.py's truth_outcomes, the
standard errors written out independently of the dbt macros), and the planted truth it should recover."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cem_pipeline.simulator.outcomes import truth_outcomes
from cem_pipeline.simulator.world import World

GROUPS = ("promoter", "detractor")


def cohort(world: World, now: int) -> pd.DataFrame:
    """Promoters and detractors of the outcome cohort at ``now``, with their stratum (tier|tenure band)."""
    t = truth_outcomes(world, now)
    t = t[t["nps_group"].isin(GROUPS)].copy()
    t["stratum"] = t["member_tier"] + "|" + t["tenure_band"]
    return t


def truth_strata(t: pd.DataFrame) -> pd.DataFrame:
    """int_outcome_strata from the truth cohort."""
    rows = []
    for (horizon, stratum, group), g in pd.concat([t, t.assign(stratum="all")]).groupby(
            ["horizon_days", "stratum", "nps_group"]):
        n = len(g)
        metrics = {"repurchase_rate": g["repurchased"].to_numpy(dtype=float),
                   "spend_per_customer": g["spend"].to_numpy(dtype=float)}
        if horizon == 90:
            metrics["churn_rate"] = 1.0 - metrics["repurchase_rate"]
        for metric, y in metrics.items():
            if metric == "spend_per_customer":
                se = y.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
            else:
                se = np.sqrt(y.mean() * (1 - y.mean()) / n)
            rows.append({"as_of_day": g["as_of_day"].iloc[0], "horizon_days": horizon, "metric": metric,
                         "stratum": stratum, "nps_group": group, "customers": n, "value": y.mean(),
                         "standard_error": se})
    return pd.DataFrame(rows)


def planted_difference(t: pd.DataFrame, horizon: int, column: str = "p_repurchase", min_per_group: int = 5,
                       adjusted: bool = True) -> float:
    """The planted promoter - detractor difference of ``column`` (the true repurchase probability, or the
    expected spend) over the cohort: within tier x tenure strata, Mantel-Haenszel weights (what the adjusted
    estimate targets), or over everyone (``adjusted=False``)."""
    t = t[t["horizon_days"] == horizon]
    if not adjusted:
        means = t.groupby("nps_group")[column].mean()
        return float(means["promoter"] - means["detractor"])
    by = t.groupby(["stratum", "nps_group"])[column].agg(["mean", "size"]).unstack("nps_group")
    by = by.dropna()
    by = by[(by[("size", "promoter")] >= min_per_group) & (by[("size", "detractor")] >= min_per_group)]
    n_p, n_d = by[("size", "promoter")], by[("size", "detractor")]
    w = n_p * n_d / (n_p + n_d)
    return float((w * (by[("mean", "promoter")] - by[("mean", "detractor")])).sum() / w.sum())
