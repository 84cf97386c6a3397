"""Executive CX overview: NPS / CSAT / CES trends with 95% confidence bands, by channel and journey stage.

Every figure is computed in dbt (the mart_cx_trend_*, mart_nps_by_channel_last_7_days and
mart_journey_stage_last_28_days models); the page only selects and formats.
"""

import altair as alt
import pandas as pd
import streamlit as st

from cem_bi import band_chart, not_built, published_tables, query, require_bi_file
from cem_i18n import (CES_DEFINITION, CSAT_DEFINITION, MOE_DEFINITION, NPS_DEFINITION, column_config, column_label,
                      t)

st.title(t("Customer experience — executive overview"))
require_bi_file()
tables = published_tables()

if "mart_nps_by_channel_last_7_days" not in tables:
    not_built("mart_nps_by_channel_last_7_days", "NPS")
else:
    last7 = query("nps_channel_last7")
    if not last7.empty:
        st.subheader(t("NPS by channel — last 7 days of data ({start} … {end})",
                       start=f"{last7.first_day.min():%Y-%m-%d}", end=f"{last7.last_day.max():%Y-%m-%d}"))
        st.caption(t(NPS_DEFINITION) + " " + t(MOE_DEFINITION))
        cols = st.columns(len(last7))
        for col, row in zip(cols, last7.itertuples()):
            col.metric(row.channel, f"{row.nps:+.1f}", f"±{row.nps_margin_of_error:.1f} · n={row.n}",
                       delta_color="off", help=t(NPS_DEFINITION) + " " + t(MOE_DEFINITION))
        table = pd.DataFrame({
            column_label("channel"): last7.channel,
            column_label("n"): last7.n.astype(int),
            column_label("nps"): last7.nps.map(lambda v: f"{v:.1f}"),
            column_label("nps_margin_of_error"): last7.nps_margin_of_error.map(lambda v: f"{v:.1f}"),
            column_label("small_n"): last7.small_n.map(lambda v: t("yes") if v else ""),
        }).set_index(column_label("channel"))
        st.table(table)

    daily = query("nps_daily")
    if not daily.empty:
        st.subheader(t("NPS trend with its 95% confidence band"))
        st.altair_chart(band_chart(daily, "nps", "nps_ci_low", "nps_ci_high", "NPS", domain=(-100, 100)),
                        use_container_width=True)
    by_channel = query("nps_channel_daily")
    if not by_channel.empty:
        st.altair_chart(alt.Chart(by_channel).mark_line(point=True).encode(
            x=alt.X("feedback_day:T", title=None), y=alt.Y("nps:Q", title=t("NPS by channel")),
            color=alt.Color("channel:N", title=column_label("channel")),
            tooltip=[alt.Tooltip("feedback_day:T", title=t("day")), alt.Tooltip("channel:N", title=column_label("channel")),
                     alt.Tooltip("nps:Q", title="NPS", format=".1f"), alt.Tooltip("n:Q", title=column_label("n"))]
        ).properties(height=260), use_container_width=True)

    st.subheader(t("NPS by journey stage — last 28 days of data"))
    stages = query("nps_by_stage")
    if stages.empty:
        st.info(t("No NPS by journey stage in the BI file yet (the touchpoint → stage mapping is not published)."))
    else:
        st.altair_chart(alt.Chart(stages).mark_bar().encode(
            x=alt.X("nps:Q", title="NPS"), y=alt.Y("journey_stage:N", sort="-x", title=None),
            tooltip=[alt.Tooltip(c, title=column_label(c)) for c in ("journey_stage", "n", "nps", "nps_margin_of_error")]
        ).properties(height=220), use_container_width=True)

left, right = st.columns(2)
with left:
    st.subheader(t("CSAT — share of 4–5 answers"))
    if "mart_cx_trend_daily" not in tables:
        not_built("mart_cx_trend_daily", "CSAT")
    else:
        csat = query("csat_daily")
        if not csat.empty:
            st.altair_chart(band_chart(csat, "csat", "csat_ci_low", "csat_ci_high", "CSAT", ".1%", domain=(0, 1)),
                            use_container_width=True)
            st.caption(t(CSAT_DEFINITION))
with right:
    st.subheader(t("CES — mean of the 1–7 ease scale"))
    if "mart_cx_trend_daily" not in tables:
        not_built("mart_cx_trend_daily", "CES")
    else:
        ces = query("ces_daily")
        if not ces.empty:
            st.altair_chart(band_chart(ces, "ces", "ces_ci_low", "ces_ci_high", "CES", ".2f", domain=(1, 7)),
                            use_container_width=True)
            st.caption(t(CES_DEFINITION))

st.subheader(t("Journey stages — last 28 days of data"))
if "mart_journey_stage_last_28_days" not in tables:
    not_built("mart_journey_stage_last_28_days", t("Journey stages"))
else:
    journey = query("journey_stage_summary")
    st.dataframe(journey, hide_index=True, use_container_width=True, column_config=column_config(
        journey,
        share_negative=lambda label: st.column_config.NumberColumn(label, format="percent"),
        nps=lambda label: st.column_config.NumberColumn(label, format="%.1f", help=t(NPS_DEFINITION)),
        nps_margin_of_error=lambda label: st.column_config.NumberColumn(label, format="%.1f", help=t(MOE_DEFINITION)),
        csat=lambda label: st.column_config.NumberColumn(label, format="percent", help=t(CSAT_DEFINITION)),
        ces=lambda label: st.column_config.NumberColumn(label, format="%.2f", help=t(CES_DEFINITION)),
    ))

st.subheader(t("Feedback volume by source"))
if "fct_feedback" not in tables:
    not_built("fct_feedback", t("Feedback"))
else:
    volume = query("feedback_volume")
    if not volume.empty:
        st.altair_chart(alt.Chart(volume).mark_bar().encode(
            x=alt.X("feedback_day:T", title=None), y=alt.Y("feedback:Q", title=t("feedback")),
            color=alt.Color("source:N", title=t("source")),
            tooltip=[alt.Tooltip("feedback_day:T", title=t("day")), alt.Tooltip("source:N", title=t("source")),
                     alt.Tooltip("feedback:Q", title=t("feedback"))]).properties(height=220),
            use_container_width=True)
