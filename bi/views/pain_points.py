"""Pain points: touchpoint x topic with volume, share negative, NPS of those who mention it and the NPS
points at stake; and topic x sentiment when the sentiment mart is published."""

import altair as alt
import streamlit as st

from cem_bi import not_built, published_tables, query, require_bi_file
from cem_i18n import NPS_DEFINITION, column_config, column_label, language, t

st.title(t("Pain points"))
require_bi_file()
tables = published_tables()


def _percent(label):
    return st.column_config.NumberColumn(label, format="percent")


if "mart_pain_points" not in tables:
    not_built("mart_pain_points", t("Pain points"))
else:
    pain = query("pain_points")
    if pain.empty:
        st.info(t("mart_pain_points is published but has no rows yet."))
    else:
        st.caption(t("Period {start} … {end}. NPS points at stake = how much the overall NPS would rise if this group "
                     "scored like everyone else.", start=f"{pain.period_start.min():%Y-%m-%d}",
                     end=f"{pain.period_end.max():%Y-%m-%d}") + " " + t(NPS_DEFINITION))
        topics = pain[pain.topic != "(any)"]
        show = topics if not topics.empty else pain
        if topics.empty:
            st.info(t("No topic mentions published yet: showing every touchpoint as a whole (topic = (any))."))
        top = show.dropna(subset=["nps_points_at_stake"]).head(15)
        if not top.empty:
            top = top.assign(label=top.touchpoint + " · " + top.topic)
            st.altair_chart(alt.Chart(top).mark_bar().encode(
                x=alt.X("nps_points_at_stake:Q", title=column_label("nps_points_at_stake")),
                y=alt.Y("label:N", sort="-x", title=None),
                color=alt.Color("share_negative:Q", title=column_label("share_negative"),
                                scale=alt.Scale(scheme="orangered")),
                tooltip=[alt.Tooltip(c, title=column_label(c)) for c in (
                    "touchpoint", "topic", "journey_stage", "volume", "share_negative", "nps_n", "nps",
                    "nps_points_at_stake", "small_n")]).properties(height=28 * len(top) + 40),
                use_container_width=True)
        st.dataframe(show, hide_index=True, use_container_width=True, column_config=column_config(
            show, share_negative=_percent, share_negative_change=_percent))

st.subheader(t("Topics × sentiment"))
if "mart_topic_sentiment_all_days" not in tables:
    not_built("mart_topic_sentiment_all_days", t("Topic sentiment"))
else:
    sentiment = query("topic_sentiment")
    if not sentiment.empty:
        # Chinese readers see the topic's Chinese name; the mart carries both.
        name = "topic_zh" if language() == "zh" and "topic_zh" in sentiment else "topic"
        long = sentiment.melt(id_vars=[name], value_vars=["negative", "neutral", "positive"],
                              var_name="sentiment", value_name="count")
        long["sentiment"] = long.sentiment.map(t)
        shades = [t("negative"), t("neutral"), t("positive")]
        st.altair_chart(alt.Chart(long).mark_bar().encode(
            x=alt.X("count:Q", stack="normalize", title=t("share of mentions")),
            y=alt.Y(f"{name}:N", sort=list(sentiment[name]), title=None),
            color=alt.Color("sentiment:N", title=t("sentiment"),
                            scale=alt.Scale(domain=shades, range=["#d62728", "#bbbbbb", "#2ca02c"])),
            tooltip=[alt.Tooltip(f"{name}:N", title=t("topic")), alt.Tooltip("sentiment:N", title=t("sentiment")),
                     alt.Tooltip("count:Q", title=t("count"))]).properties(height=24 * len(sentiment) + 40),
            use_container_width=True)
        st.dataframe(sentiment, hide_index=True, use_container_width=True, column_config=column_config(
            sentiment, share_negative=_percent, share_positive=_percent))
