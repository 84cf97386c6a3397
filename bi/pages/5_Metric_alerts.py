"""Metric alerts: significant NPS / CSAT / CES drops per segment (latest day or 7 days against the 28 before),
newest first, with the change's 95% interval, p and Benjamini-Hochberg q, and the drivers that moved; every
test of the run below, for transparency.

Every figure is computed by the metric-alert asset (cem_pipeline/analytics/drops.py, analytics.mart_metric_alerts
and analytics.metric_tests); the page only selects and formats.
"""

import pandas as pd
import streamlit as st

from cem_bi import not_built, published_tables, query, require_bi_file

st.set_page_config(page_title="Metric alerts · CEM", page_icon="📉", layout="wide")
st.title("Metric alerts")
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
    text = f"{format(scale * change, fmt)}{unit}"
    if not (pd.isna(low) or pd.isna(high)):
        text += f" ({format(scale * low, fmt)} … {format(scale * high, fmt)})"
    return text


def _p(value) -> str:
    return "–" if pd.isna(value) else f"{value:.2g}"


def _segment(kind: str, value: str) -> str:
    return "overall" if kind == "overall" else f"{kind.replace('_', ' ')}: {value}"


tables = published_tables()
if "mart_metric_alerts" not in tables:
    not_built("mart_metric_alerts", "Metric alerts", "analytics")
    st.stop()

alerts = query("metric_alerts")
tests = query("metric_tests") if "metric_tests" in tables else pd.DataFrame()

c1, c2, c3, c4 = st.columns(4)
c1.metric("alerts", f"{len(alerts):,}")
c2.metric("NPS alerts", f"{(alerts.metric == 'nps').sum():,}" if not alerts.empty else "0")
c3.metric("segments tested", f"{len(tests):,}" if "metric_tests" in tables else "–",
          help="Rows of analytics.metric_tests: every metric × segment × window tested in the run.")
as_of = alerts.as_of_day.max() if not alerts.empty else tests.as_of_day.max() if not tests.empty else None
c4.metric("as of", "–" if as_of is None or pd.isna(as_of) else f"{pd.Timestamp(as_of):%Y-%m-%d}")
st.caption("Each metric of each segment (overall, store, channel, touchpoint, member tier) on its latest day and "
           "latest 7 days is tested against the 28 days before. Hundreds of segments are tested per run, so a drop "
           "alerts only when its Benjamini–Hochberg adjusted **q** stays within the false-discovery rate (5% by "
           "default, `CEM_DROP_FDR`); **p** is the one-sided test's own p-value. Change = window − baseline with "
           "its 95% interval: NPS in points, CSAT in percentage points, CES on the 1–7 scale.")

present = [m for m in METRICS if m in set(alerts.get("metric", [])) | set(tests.get("metric", []))]
chosen = st.multiselect("metric", present, default=present, format_func=lambda m: METRICS.get(m, m)) if present else []

if alerts.empty:
    st.success("No significant drops"
               + (f" among the {len(tests):,} tests of the run." if not tests.empty else "."))
else:
    shown = alerts[alerts.metric.isin(chosen)]
    st.subheader(f"Significant drops — newest first ({len(shown):,} of {len(alerts):,})")
    if shown.empty:
        st.info("No significant drops in the chosen metrics.")
    else:
        st.dataframe(pd.DataFrame({
            "as of": shown.as_of_day,
            "metric": shown.metric.map(lambda m: METRICS.get(m, m)),
            "segment": [_segment(r.segment_kind, r.segment_value) for r in shown.itertuples()],
            "window": shown.window_days.map(lambda d: f"{int(d)}d"),
            "change (95%)": [_change(r.metric, r.change, r.change_ci_low, r.change_ci_high)
                             for r in shown.itertuples()],
            "p": shown.p_value.map(_p),
            "q": shown.q_value.map(_p),
            "drivers that moved": shown.drivers_moved.fillna(""),
            "now → baseline": [f"{_value(r.metric, r.current_value)} (n={int(r.current_n):,}) vs "
                               f"{_value(r.metric, r.baseline_value)} (n={int(r.baseline_n):,})"
                               for r in shown.itertuples()],
            "flagged in": shown.windows_flagged,
            "opened at": shown.opened_at,
        }), hide_index=True, width="stretch", column_config={
            "as of": st.column_config.DateColumn(format="YYYY-MM-DD"),
            "drivers that moved": st.column_config.TextColumn(
                width="large", help="Drivers whose share of the segment's answers moved most the harmful way: "
                                    "change in percentage points (baseline → window)."),
            "opened at": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        })

if "metric_tests" not in tables:
    not_built("metric_tests", "Every test of the run", "analytics")
else:
    shown_tests = tests[tests.metric.isin(chosen)] if not tests.empty else tests
    with st.expander(f"All tests of the run ({len(shown_tests):,}): drops or not, the most significant first"):
        if shown_tests.empty:
            st.info("No tests in the run: no segment had enough answers in its window and baseline "
                    "(`CEM_DROP_MIN_CURRENT`, `CEM_DROP_MIN_BASELINE`).")
        else:
            st.dataframe(pd.DataFrame({
                "metric": shown_tests.metric.map(lambda m: METRICS.get(m, m)),
                "segment": [_segment(r.segment_kind, r.segment_value) for r in shown_tests.itertuples()],
                "window": shown_tests.window_days.map(lambda d: f"{int(d)}d"),
                "n now": shown_tests.current_n, "n baseline": shown_tests.baseline_n,
                "now": [_value(r.metric, r.current_value) for r in shown_tests.itertuples()],
                "baseline": [_value(r.metric, r.baseline_value) for r in shown_tests.itertuples()],
                "change (95%)": [_change(r.metric, r.change, r.change_ci_low, r.change_ci_high)
                                 for r in shown_tests.itertuples()],
                "z": shown_tests.z, "p": shown_tests.p_value.map(_p), "q": shown_tests.q_value.map(_p),
                "drop": shown_tests.is_drop,
            }), hide_index=True, width="stretch", column_config={
                "z": st.column_config.NumberColumn(format="%.2f"),
                "drop": st.column_config.CheckboxColumn("significant drop"),
            })
