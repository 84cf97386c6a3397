"""Experience -> outcomes: the promoter - detractor difference in repurchase, churn and spend, adjusted for
member tier and tenure band by stratification.

Input: ``intermediate.int_outcome_strata`` — per horizon (30, 90 days), metric (``repurchase_rate``,
``churn_rate``, ``spend_per_customer``), stratum (``member_tier|tenure_band``, and ``all``) and NPS group
(promoter, detractor), the customers, the metric's value and its standard error from the dbt macros (so every
metric's variance stays in one place, as for the metric-drop tests).

Per horizon x metric:

- ``naive_difference``: promoters' value - detractors' value over every customer (stratum ``all``), with the
  95% interval of a difference of independent estimates (standard error ``hypot(se_p, se_d)``). Biased when
  tier and tenure move both the answer and the outcome (they do: higher tiers and older customers are more
  often promoters and buy more).
- ``adjusted_difference``: the Mantel-Haenszel-weighted mean of the strata's differences,
  ``sum(w_s (p_s - d_s)) / sum(w_s)`` with ``w_s = n_p n_d / (n_p + n_d)`` (a stratum needs both groups), so
  promoters are compared only with detractors of their own tier and tenure band. Its standard error treats
  the weights as fixed: ``hypot over s of (w_s hypot(se_p,s, se_d,s)) / sum(w_s)``. A stratum whose groups
  both have at least ``min_per_group`` customers enters; the others are counted in ``strata_dropped``.

Associations in observational data, not causal effects: what tier and tenure do not explain (a customer's
mood, a competitor's offer) remains in the difference.

Pure numpy / scipy; no Dagster, no engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from cem_pipeline import schema

EFFECT_COLUMNS = schema.column_names(schema.OUTCOME_EFFECTS_COLUMNS)
GROUPS = ("promoter", "detractor")


@dataclass(frozen=True)
class OutcomeSettings:
    level: float = 0.95
    min_per_group: int = 5  # customers of each group a stratum needs to enter the adjusted difference


def _pair(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per stratum with both groups' customers, value and standard error side by side."""
    wide = frame.pivot_table(index="stratum", columns="nps_group", values=["customers", "value", "standard_error"],
                             aggfunc="first")
    wide.columns = [f"{m}_{g}" for m, g in wide.columns]
    return wide.reindex(columns=[f"{m}_{g}" for m in ("customers", "value", "standard_error") for g in GROUPS])


def stratified_difference(strata: pd.DataFrame, settings: OutcomeSettings | None = None) -> dict:
    """The naive and the adjusted promoter - detractor difference of one horizon x metric (see the module doc)."""
    settings = settings or OutcomeSettings()
    z = stats.norm.ppf(0.5 + settings.level / 2)
    wide = _pair(strata.astype({"customers": float, "value": float, "standard_error": float}))
    out = {"promoters": None, "detractors": None, "naive_difference": None, "naive_ci_low": None,
           "naive_ci_high": None, "adjusted_difference": None, "adjusted_ci_low": None, "adjusted_ci_high": None,
           "adjusted_standard_error": None, "strata_used": 0, "strata_dropped": 0}
    if "all" in wide.index and wide.loc["all"].notna().all():
        row = wide.loc["all"]
        diff = row["value_promoter"] - row["value_detractor"]
        se = np.hypot(row["standard_error_promoter"], row["standard_error_detractor"])
        out.update(promoters=int(row["customers_promoter"]), detractors=int(row["customers_detractor"]),
                   naive_difference=float(diff), naive_ci_low=float(diff - z * se), naive_ci_high=float(diff + z * se))
    cells = wide.drop(index="all", errors="ignore")
    n_p, n_d = cells["customers_promoter"].fillna(0), cells["customers_detractor"].fillna(0)
    usable = (n_p >= settings.min_per_group) & (n_d >= settings.min_per_group) & cells.notna().all(axis=1)
    out["strata_dropped"] = int((~usable).sum())
    cells, n_p, n_d = cells[usable], n_p[usable], n_d[usable]
    if len(cells):
        w = (n_p * n_d / (n_p + n_d)).to_numpy()
        diffs = (cells["value_promoter"] - cells["value_detractor"]).to_numpy()
        se_s = np.hypot(cells["standard_error_promoter"], cells["standard_error_detractor"]).to_numpy()
        diff = float(np.sum(w * diffs) / w.sum())
        se = float(np.hypot.reduce(w * se_s) / w.sum())
        out.update(adjusted_difference=diff, adjusted_standard_error=se, adjusted_ci_low=diff - z * se,
                   adjusted_ci_high=diff + z * se, strata_used=int(len(cells)))
    return out


def outcome_effects(strata: pd.DataFrame, settings: OutcomeSettings | None = None) -> pd.DataFrame:
    """One row per horizon x metric: promoters vs detractors, naive and adjusted for tier x tenure band."""
    rows = []
    for (as_of, horizon, metric), group in strata.groupby(["as_of_day", "horizon_days", "metric"], sort=True):
        rows.append({"as_of_day": as_of, "horizon_days": int(horizon), "metric": metric,
                     "comparison": "promoter - detractor", "adjusted_for": "member_tier x tenure_band",
                     **stratified_difference(group, settings)})
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)
