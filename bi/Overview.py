"""Executive CX overview: NPS / CSAT / CES trends with 95% confidence bands, by channel and journey stage.

Run with `make bi` (streamlit run bi/Overview.py). Reads only the published BI file.
"""

import altair as alt
import pandas as pd
import streamlit as st

from cem_bi import band_chart, not_built, published_tables, query, require_bi_file

st.set_page_config(page_title="CX overview · CEM", page_icon="📈", layout="wide")
st.title("Customer experience — executive overview")
require_bi_file()
tables = published_tables()

# Every figure below is computed in dbt (the mart_cx_trend_*, mart_nps_by_channel_last_7_days and
# mart_journey_stage_last_28_days models); the pages only select and format.
if "mart_nps_by_channel_last_7_days" not in tables:
    not_built("mart_nps_by_channel_last_7_days", "NPS")
else:
    last7 = query("nps_channel_last7")
    if not last7.empty:
        st.subheader(f"NPS by channel — last 7 days of data ({last7.first_day.min():%Y-%m-%d} … "
                     f"{last7.last_day.max():%Y-%m-%d})")
        st.caption("NPS = % promoters (9–10) − % detractors (0–6). ± is the 95% margin of error; "
                   "cells with fewer than 30 responses are flagged small n.")
        cols = st.columns(len(last7))
        for col, row in zip(cols, last7.itertuples()):
            col.metric(row.channel, f"{row.nps:+.1f}", f"±{row.nps_margin_of_error:.1f} · n={row.n}",
                       delta_color="off")
        table = pd.DataFrame({
            "channel": last7.channel,
            "responses": last7.n.astype(int),
            "NPS": last7.nps.map(lambda v: f"{v:.1f}"),
            "± 95% MoE": last7.nps_margin_of_error.map(lambda v: f"{v:.1f}"),
            "small n": last7.small_n.map(lambda v: "yes" if v else ""),
        }).set_index("channel")
        st.table(table)

    daily = query("nps_daily")
    if not daily.empty:
        st.subheader("NPS trend with its 95% confidence band")
        st.altair_chart(band_chart(daily, "nps", "nps_ci_low", "nps_ci_high", "NPS", domain=(-100, 100)), use_container_width=True)
    by_channel = query("nps_channel_daily")
    if not by_channel.empty:
        st.altair_chart(alt.Chart(by_channel).mark_line(point=True).encode(
            x=alt.X("feedback_day:T", title=None), y=alt.Y("nps:Q", title="NPS by channel"),
            color="channel:N", tooltip=["feedback_day:T", "channel:N", "nps:Q", "n:Q"]).properties(height=260),
            use_container_width=True)

    st.subheader("NPS by journey stage — last 28 days of data")
    stages = query("nps_by_stage")
    if stages.empty:
        st.info("No NPS by journey stage in the BI file yet (the touchpoint → stage mapping is not published).")
    else:
        st.altair_chart(alt.Chart(stages).mark_bar().encode(
            x=alt.X("nps:Q", title="NPS"), y=alt.Y("journey_stage:N", sort="-x", title=None),
            tooltip=["journey_stage", "n", "nps", "nps_margin_of_error"]).properties(height=220),
            use_container_width=True)

left, right = st.columns(2)
with left:
    st.subheader("CSAT — share of 4–5 answers")
    if "mart_cx_trend_daily" not in tables:
        not_built("mart_cx_trend_daily", "CSAT")
    else:
        csat = query("csat_daily")
        if not csat.empty:
            st.altair_chart(band_chart(csat, "csat", "csat_ci_low", "csat_ci_high", "CSAT", ".1%", domain=(0, 1)),
                            use_container_width=True)
with right:
    st.subheader("CES — mean of the 1–7 ease scale")
    if "mart_cx_trend_daily" not in tables:
        not_built("mart_cx_trend_daily", "CES")
    else:
        ces = query("ces_daily")
        if not ces.empty:
            st.altair_chart(band_chart(ces, "ces", "ces_ci_low", "ces_ci_high", "CES", ".2f", domain=(1, 7)),
                            use_container_width=True)

st.subheader("Journey stages — last 28 days of data")
if "mart_journey_stage_last_28_days" not in tables:
    not_built("mart_journey_stage_last_28_days", "Journey stages")
else:
    journey = query("journey_stage_summary")
    st.dataframe(journey, hide_index=True, use_container_width=True, column_config={
        "share_negative": st.column_config.NumberColumn("negative", format="percent"),
        "nps": st.column_config.NumberColumn("NPS", format="%.1f"),
        "nps_margin_of_error": st.column_config.NumberColumn("± 95% MoE", format="%.1f"),
        "csat": st.column_config.NumberColumn("CSAT", format="percent"),
        "ces": st.column_config.NumberColumn("CES", format="%.2f"),
    })

st.subheader("Feedback volume by source")
if "fct_feedback" not in tables:
    not_built("fct_feedback", "Feedback")
else:
    volume = query("feedback_volume")
    if not volume.empty:
        st.altair_chart(alt.Chart(volume).mark_bar().encode(
            x=alt.X("feedback_day:T", title=None), y=alt.Y("feedback:Q", title="feedback"), color="source:N",
            tooltip=["feedback_day:T", "source:N", "feedback:Q"]).properties(height=220), use_container_width=True)
