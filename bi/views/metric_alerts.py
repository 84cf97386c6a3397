"""Metric alerts: significant NPS / CSAT / CES drops per segment (latest day or 7 days against the 28 before),
newest first, with the change's 95% interval, p and Benjamini-Hochberg q, and the drivers that moved; every
test of the run below, for transparency.

Every figure is computed by the metric-alert asset (cem_pipeline/analytics/drops.py, analytics.mart_metric_alerts
and analytics.metric_tests); the page only selects and formats.
"""

import pandas as pd
import streamlit as st

from cem_bi import not_built, published_tables, query, require_bi_file
from cem_i18n import CES_DEFINITION, CSAT_DEFINITION, NPS_DEFINITION, t

st.title(t("Metric alerts"))
require_bi_file()

METRICS = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}


def _value(metric: str, value) -> str:
    if pd.isna(value):
        return "–"
    return f"{value:.1%}" if metric == "csat" else f"{value:.2f}" if metric == "ces" else f"{value:.1f}"


def _change(metric: str, change, low, high) -> str:
    """NPS in points, CSAT in percentage points, CES on its 1-7 scale; the 95% interval in brackets."""
    if pd.isna(change):
        return "–"
    scale, fmt, unit = {"nps": (1, "+.1f", " pts"), "csat": (100, "+.1f", " pp"), "ces": (1, "+.2f", "")}.get(
        metric, (1, "+.2f", ""))
    text = f"{format(scale * change, fmt)}{t(unit) if unit else ''}"
    if not (pd.isna(low) or pd.isna(high)):
        text += f" ({format(scale * low, fmt)} … {format(scale * high, fmt)})"
    return text


def _p(value) -> str:
    return "–" if pd.isna(value) else f"{value:.2g}"


def _segment(kind: str, value: str) -> str:
    return t("overall") if kind == "overall" else f"{t(kind.replace('_', ' '))}: {value}"


tables = published_tables()
if "mart_metric_alerts" not in tables:
    not_built("mart_metric_alerts", t("Metric alerts"), "analytics")
    st.stop()

alerts = query("metric_alerts")
tests = query("metric_tests") if "metric_tests" in tables else pd.DataFrame()

c1, c2, c3, c4 = st.columns(4)
c1.metric(t("alerts"), f"{len(alerts):,}")
c2.metric(t("NPS alerts"), f"{(alerts.metric == 'nps').sum():,}" if not alerts.empty else "0", help=t(NPS_DEFINITION))
c3.metric(t("segments tested"), f"{len(tests):,}" if "metric_tests" in tables else "–",
          help=t("Rows of analytics.metric_tests: every metric × segment × window tested in the run."))
as_of = alerts.as_of_day.max() if not alerts.empty else tests.as_of_day.max() if not tests.empty else None
c4.metric(t("as of"), "–" if as_of is None or pd.isna(as_of) else f"{pd.Timestamp(as_of):%Y-%m-%d}")
st.caption(t("Each metric of each segment (overall, store, channel, touchpoint, member tier) on its latest day and "
           "latest 7 days is tested against the 28 days before. Hundreds of segments are tested per run, so a drop "
           "alerts only when its Benjamini–Hochberg adjusted **q** stays within the false-discovery rate (5% by "
           "default, `CEM_DROP_FDR`); **p** is the one-sided test's own p-value. Change = window − baseline with "
           "its 95% interval: NPS in points, CSAT in percentage points, CES on the 1–7 scale.") + " "
           + " ".join(t(d) for d in (NPS_DEFINITION, CSAT_DEFINITION, CES_DEFINITION)))

present = [m for m in METRICS if m in set(alerts.get("metric", [])) | set(tests.get("metric", []))]
chosen = st.multiselect(t("metric"), present, default=present, format_func=lambda m: METRICS.get(m, m)) if present else []

if alerts.empty:
    st.success(t("No significant drops among the {n} tests of the run.", n=f"{len(tests):,}") if not tests.empty
               else t("No significant drops."))
else:
    shown = alerts[alerts.metric.isin(chosen)]
    st.subheader(t("Significant drops — newest first ({shown} of {total})", shown=f"{len(shown):,}",
                   total=f"{len(alerts):,}"))
    if shown.empty:
        st.info(t("No significant drops in the chosen metrics."))
    else:
        st.dataframe(pd.DataFrame({
            t("as of"): shown.as_of_day,
            t("metric"): shown.metric.map(lambda m: METRICS.get(m, m)),
            t("segment"): [_segment(r.segment_kind, r.segment_value) for r in shown.itertuples()],
            t("window"): shown.window_days.map(lambda d: f"{int(d)}d"),
            t("change (95%)"): [_change(r.metric, r.change, r.change_ci_low, r.change_ci_high)
                                for r in shown.itertuples()],
            "p": shown.p_value.map(_p),
            "q": shown.q_value.map(_p),
            t("drivers that moved"): shown.drivers_moved.fillna(""),
            t("now → baseline"): [t("{value} (n={n}) vs {baseline} (n={baseline_n})",
                                    value=_value(r.metric, r.current_value), n=f"{int(r.current_n):,}",
                                    baseline=_value(r.metric, r.baseline_value), baseline_n=f"{int(r.baseline_n):,}")
                                  for r in shown.itertuples()],
            t("flagged in"): shown.windows_flagged,
            t("opened at"): shown.opened_at,
        }), hide_index=True, width="stretch", column_config={
            t("as of"): st.column_config.DateColumn(format="YYYY-MM-DD"),
            t("drivers that moved"): st.column_config.TextColumn(
                width="large", help=t("Drivers whose share of the segment's answers moved most the harmful way: "
                                      "change in percentage points (baseline → window).")),
            t("opened at"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        })

if "metric_tests" not in tables:
    not_built("metric_tests", t("Every test of the run"), "analytics")
else:
    shown_tests = tests[tests.metric.isin(chosen)] if not tests.empty else tests
    with st.expander(t("All tests of the run ({n}): drops or not, the most significant first",
                       n=f"{len(shown_tests):,}")):
        if shown_tests.empty:
            st.info(t("No tests in the run: no segment had enough answers in its window and baseline "
                      "(`CEM_DROP_MIN_CURRENT`, `CEM_DROP_MIN_BASELINE`)."))
        else:
            st.dataframe(pd.DataFrame({
                t("metric"): shown_tests.metric.map(lambda m: METRICS.get(m, m)),
                t("segment"): [_segment(r.segment_kind, r.segment_value) for r in shown_tests.itertuples()],
                t("window"): shown_tests.window_days.map(lambda d: f"{int(d)}d"),
                t("n now"): shown_tests.current_n, t("n baseline"): shown_tests.baseline_n,
                t("now"): [_value(r.metric, r.current_value) for r in shown_tests.itertuples()],
                t("baseline"): [_value(r.metric, r.baseline_value) for r in shown_tests.itertuples()],
                t("change (95%)"): [_change(r.metric, r.change, r.change_ci_low, r.change_ci_high)
                                    for r in shown_tests.itertuples()],
                "z": shown_tests.z, "p": shown_tests.p_value.map(_p), "q": shown_tests.q_value.map(_p),
                t("drop"): shown_tests.is_drop,
            }), hide_index=True, width="stretch", column_config={
                "z": st.column_config.NumberColumn(format="%.2f"),
                t("drop"): st.column_config.CheckboxColumn(t("significant drop")),
            })
