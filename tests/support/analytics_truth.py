"""The analyses' inputs computed from the simulator's truth (an oracle of the dbt models int_key_driver_cells
and int_metric_windows): drivers are the planted experiences, segments the planted ones, the metric formulas
those of DESIGN.md §4 written out independently of the dbt macros."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from cem_pipeline.simulator.world import DAY, START, World

SEEDS_DIR = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
SEGMENTS = {"overall": None, "store": "store", "channel": "channel", "touchpoint": "touchpoint",
            "member_tier": "member_tier"}
Z = 1.96


def stage_of_touchpoint() -> dict[str, str]:
    with open(SEEDS_DIR / "journey_touchpoints.csv", newline="", encoding="utf-8") as f:
        return {r["touchpoint"]: r["journey_stage"] for r in csv.DictReader(f)}


def end_of_day(day: dt.date) -> int:
    """The simulator clock at the end of a local day (what a run just after midnight sees)."""
    return int((START + dt.timedelta(days=(day - START.date()).days + 1)).timestamp())


def truth_cells(world: World, now: int, days: int = 90) -> pd.DataFrame:
    """int_key_driver_cells from the truth: the observed driver of a response is its planted experience."""
    s = world.truth_surveys(now)
    s = s[s["survey_type"] == "nps"]
    as_of = s["day"].max()
    s = s[s["day"] > as_of - dt.timedelta(days=days)]
    stages = stage_of_touchpoint()
    frame = pd.DataFrame({"as_of_day": as_of, "channel": s["channel"], "journey_stage": s["touchpoint"].map(stages),
                          "score": s["score"], "drivers": s["experience"].fillna("")})
    return frame.groupby(["as_of_day", "channel", "journey_stage", "score", "drivers"], as_index=False).size() \
        .rename(columns={"size": "responses"})


def _metrics(g: pd.DataFrame) -> dict:
    out = {}
    nps = g.loc[g["survey_type"] == "nps", "score"].to_numpy()
    n = len(nps)
    out["nps_n"] = n
    if n:
        p, d = (nps >= 9).mean(), (nps <= 6).mean()
        out["nps"] = 100 * (p - d)
        out["nps_standard_error"] = 100 * np.sqrt((p + d - (p - d) ** 2) / n)
        out["nps_margin_of_error"] = Z * out["nps_standard_error"]
    csat = g.loc[g["survey_type"] == "csat", "score"].to_numpy()
    out["csat_n"] = len(csat)
    if len(csat):
        share = (csat >= 4).mean()
        out["csat"] = share
        out["csat_standard_error"] = np.sqrt(share * (1 - share) / len(csat))
        out["csat_margin_of_error"] = Z * out["csat_standard_error"]
    ces = g.loc[g["survey_type"] == "ces", "score"].to_numpy(dtype=float)
    out["ces_n"] = len(ces)
    if len(ces):
        out["ces"] = ces.mean()
        out["ces_standard_error"] = ces.std(ddof=1) / np.sqrt(len(ces)) if len(ces) > 1 else np.nan
        out["ces_margin_of_error"] = Z * out["ces_standard_error"]
    return out


def truth_windows(world: World, as_of: dt.date, baseline_days: int = 28, now: int | None = None) -> pd.DataFrame:
    """int_metric_windows from the truth as of the end of ``as_of`` (responses answered by then, visible then)."""
    s = world.truth_surveys(end_of_day(as_of) if now is None else now)
    s = s[s["day"] <= as_of]
    rows = []
    for window in (1, 7):
        first = as_of - dt.timedelta(days=window - 1)
        part = s[s["day"] > first - dt.timedelta(days=baseline_days + 1)]
        part = part.assign(period=np.where(part["day"] >= first, "current", "baseline"))
        for kind, column in SEGMENTS.items():
            keyed = part.assign(segment_value="all") if column is None else \
                part[part[column].notna()].assign(segment_value=lambda f: f[column].astype(str))
            for (value, period), g in keyed.groupby(["segment_value", "period"]):
                rows.append({"segment_kind": kind, "segment_value": value, "as_of_day": as_of, "window_days": window,
                             "period": period, **_metrics(g)})
    return pd.DataFrame(rows)
