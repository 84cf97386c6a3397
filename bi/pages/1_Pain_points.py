"""Pain points: touchpoint x topic with volume, share negative, NPS of those who mention it and the NPS
points at stake; and topic x sentiment when the sentiment mart is published."""

import altair as alt
import streamlit as st

from cem_bi import not_built, published_tables, query, require_bi_file

st.set_page_config(page_title="Pain points · CEM", page_icon="🩹", layout="wide")
st.title("Pain points")
require_bi_file()
tables = published_tables()

if "mart_pain_points" not in tables:
    not_built("mart_pain_points", "Pain points")
else:
    pain = query("pain_points")
    if pain.empty:
        st.info("mart_pain_points is published but has no rows yet.")
    else:
        st.caption(f"Period {pain.period_start.min():%Y-%m-%d} … {pain.period_end.max():%Y-%m-%d}. NPS points at "
                   "stake = how much the overall NPS would rise if this group scored like everyone else.")
        topics = pain[pain.topic != "(any)"]
        show = topics if not topics.empty else pain
        if topics.empty:
            st.info("No topic mentions published yet: showing every touchpoint as a whole (topic = (any)).")
        top = show.dropna(subset=["nps_points_at_stake"]).head(15)
        if not top.empty:
            top = top.assign(label=top.touchpoint + " · " + top.topic)
            st.altair_chart(alt.Chart(top).mark_bar().encode(
                x=alt.X("nps_points_at_stake:Q", title="NPS points at stake"),
                y=alt.Y("label:N", sort="-x", title=None),
                color=alt.Color("share_negative:Q", title="share negative", scale=alt.Scale(scheme="orangered")),
                tooltip=["touchpoint", "topic", "journey_stage", "volume", "share_negative", "nps_n", "nps",
                         "nps_points_at_stake", "small_n"]).properties(height=28 * len(top) + 40),
                use_container_width=True)
        st.dataframe(show, hide_index=True, use_container_width=True, column_config={
            "share_negative": st.column_config.NumberColumn("share negative", format="percent"),
            "share_negative_change": st.column_config.NumberColumn("Δ share negative", format="percent"),
        })

st.subheader("Topics × sentiment")
if "mart_topic_sentiment_all_days" not in tables:
    not_built("mart_topic_sentiment_all_days", "Topic sentiment")
else:
    sentiment = query("topic_sentiment")
    if not sentiment.empty:
        long = sentiment.melt(id_vars=["topic"], value_vars=["negative", "neutral", "positive"],
                              var_name="sentiment", value_name="count")
        st.altair_chart(alt.Chart(long).mark_bar().encode(
            x=alt.X("count:Q", stack="normalize", title="share of mentions"),
            y=alt.Y("topic:N", sort=list(sentiment.topic), title=None),
            color=alt.Color("sentiment:N", scale=alt.Scale(domain=["negative", "neutral", "positive"],
                                                           range=["#d62728", "#bbbbbb", "#2ca02c"])),
            tooltip=["topic", "sentiment", "count"]).properties(height=24 * len(sentiment) + 40),
            use_container_width=True)
    st.dataframe(sentiment, hide_index=True, use_container_width=True, column_config={
        "share_negative": st.column_config.NumberColumn("share negative", format="percent"),
        "share_positive": st.column_config.NumberColumn("share positive", format="percent")})
