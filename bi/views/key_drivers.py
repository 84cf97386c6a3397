"""Key drivers of likelihood-to-recommend per segment: the priority quadrant (performance x importance, size =
share affected, colour = direction of the effect) and the drivers to fix first, with bootstrap 95% intervals.

Every figure is computed by the key-driver asset (cem_pipeline/analytics/drivers.py, analytics.mart_key_drivers);
the page only selects, formats and draws.
"""

import altair as alt
import pandas as pd
import streamlit as st

from cem_bi import not_built, published_tables, query, require_bi_file
from cem_i18n import NPS_DEFINITION, t

st.title(t("Key drivers"))
require_bi_file()

KINDS = {"overall": "overall", "channel": "channel", "journey_stage": "journey stage"}  # shown through t()
DIRECTIONS = ["lowers", "no clear effect", "raises"]
COLOURS = ["#d62728", "#999999", "#2ca02c"]


def _interval(value, low, high, fmt: str) -> str:
    """'value (low … high)'; the value alone where the interval is missing, '–' where the value is."""
    if value is None or pd.isna(value):
        return "–"
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return format(value, fmt)
    return f"{format(value, fmt)} ({format(low, fmt)} … {format(high, fmt)})"


def _kind(kind: str) -> str:
    return t(KINDS.get(kind, kind))


def _quadrant_chart(seg: pd.DataFrame):
    # The direction as shown (the legend's domain): the colours follow DIRECTIONS in either language.
    seg = seg.dropna(subset=["mean_score_affected", "importance"]).assign(direction=lambda f: f.direction.map(t))
    x_mid, y_mid = seg.mean_score_affected.median(), seg.importance.median()
    x = alt.X("mean_score_affected:Q", scale=alt.Scale(zero=False, nice=True),
              title=t("performance: mean 0–10 answer of those who mention it"))
    y_title = t("importance: share of the answer's variance it explains")
    y = alt.Y("importance:Q", axis=alt.Axis(format=".0%"), scale=alt.Scale(zero=True), title=y_title)
    colour = alt.Color("direction:N", title=t("effect"),
                       scale=alt.Scale(domain=[t(d) for d in DIRECTIONS], range=COLOURS))
    base = alt.Chart(seg).encode(x=x)
    error_bars = base.mark_rule(strokeWidth=2, opacity=0.6).encode(
        y=alt.Y("importance_ci_low:Q", axis=alt.Axis(format=".0%"), title=y_title), y2="importance_ci_high:Q",
        color=colour)
    points = base.mark_circle(opacity=0.85, stroke="white", strokeWidth=1).encode(
        y=y, color=colour,
        size=alt.Size("share_affected:Q", title=t("share affected"), legend=alt.Legend(format=".0%"),
                      scale=alt.Scale(range=[60, 1400])),
        tooltip=[alt.Tooltip("driver:N", title=t("driver")), alt.Tooltip("direction:N", title=t("direction")),
                 alt.Tooltip("effect_points:Q", title=t("effect (points)"), format="+.2f"),
                 alt.Tooltip("effect_ci_low:Q", title=t("effect 95% low"), format="+.2f"),
                 alt.Tooltip("effect_ci_high:Q", title=t("effect 95% high"), format="+.2f"),
                 alt.Tooltip("importance:Q", title=t("importance"), format=".1%"),
                 alt.Tooltip("importance_ci_low:Q", title=t("importance 95% low"), format=".1%"),
                 alt.Tooltip("importance_ci_high:Q", title=t("importance 95% high"), format=".1%"),
                 alt.Tooltip("importance_share:Q", title=t("share of explained"), format=".0%"),
                 alt.Tooltip("share_affected:Q", title=t("share affected"), format=".1%"),
                 alt.Tooltip("mentions:Q", title=t("mentions")),
                 alt.Tooltip("mean_score_affected:Q", title=t("mean answer, affected"), format=".2f"),
                 alt.Tooltip("mean_score_unaffected:Q", title=t("mean answer, others"), format=".2f"),
                 alt.Tooltip("fix_first_rank:Q", title=t("fix-first rank"))])
    labels = base.mark_text(align="left", dx=9, dy=-9, fontSize=11).encode(y="importance:Q", text="driver:N")
    medians = pd.DataFrame({"x": [x_mid], "y": [y_mid]})
    x_rule = alt.Chart(medians).mark_rule(strokeDash=[5, 4], color="#666").encode(x="x:Q")
    y_rule = alt.Chart(medians).mark_rule(strokeDash=[5, 4], color="#666").encode(y="y:Q")
    # The corners of the classic importance-performance map.
    top = seg[["importance", "importance_ci_high"]].max().max()
    corners = pd.DataFrame({
        "x": [seg.mean_score_affected.min(), seg.mean_score_affected.max()] * 2,
        "y": [top, top, 0, 0],
        "side": ["left", "right", "left", "right"],
        "text": [t("fix first: important, poorly rated"), t("strengths: important, well rated"),
                 t("secondary: less important, poorly rated"), t("less important, well rated")]})
    corner_marks = [alt.Chart(corners[corners.side == a]).mark_text(
        align=a, baseline="bottom", dy=-4, fontSize=11, fontStyle="italic", color="#777").encode(
        x="x:Q", y="y:Q", text="text:N") for a in ("left", "right")]
    return alt.layer(x_rule, y_rule, *corner_marks, error_bars, points, labels).properties(height=460)


tables = published_tables()
if "mart_key_drivers" not in tables:
    not_built("mart_key_drivers", t("Key drivers"), "analytics")
    st.stop()

drivers = query("key_drivers")
if drivers.empty:
    st.info(t("**No key drivers yet.** `analytics.mart_key_drivers` is published but empty: no segment had enough "
              "NPS answers (`CEM_KEY_DRIVER_MIN_RESPONSES`) whose comments mention a topic often enough "
              "(`CEM_KEY_DRIVER_MIN_MENTIONS`). It fills in once the daily run sees enough survey comments."))
    st.stop()

kinds = [k for k in KINDS if k in set(drivers.segment_kind)] + sorted(set(drivers.segment_kind) - set(KINDS))
left, right = st.columns(2)
# Widget labels translated here, not in a lambda: a widget keeps its format_func past the run.
kind_labels = {k: _kind(k) for k in kinds}
kind = left.selectbox(t("segment"), kinds, format_func=kind_labels.get)
values = list(dict.fromkeys(drivers.loc[drivers.segment_kind == kind, "segment_value"]))
value_labels = {v: t("overall") if kind == "overall" else v for v in values}
value = right.selectbox(_kind(kind), values, disabled=len(values) == 1, format_func=value_labels.get)
seg = drivers[(drivers.segment_kind == kind) & (drivers.segment_value == value)].reset_index(drop=True)
head = seg.iloc[0]

fix = seg.dropna(subset=["fix_first_rank"]).sort_values("fix_first_rank")
c1, c2, c3, c4 = st.columns(4)
c1.metric(t("NPS answers"), f"{int(head.responses):,}", help=t(NPS_DEFINITION))
c2.metric(t("drivers analysed"), f"{len(seg):,}")
c3.metric(t("variance explained (R²)"), "–" if pd.isna(head.model_r2) else f"{head.model_r2:.1%}")
c4.metric(t("drivers that lower it"), f"{len(fix):,}", help=t("effect interval below 0; ranked to fix first"))
if fix.empty:
    st.info(t("No driver clearly lowers the score in this segment: every lowering effect's 95% interval covers 0."))
else:
    top = fix.iloc[0]
    st.markdown(t("**Fix first: `{driver}`** — mentioned in {share} of answers; those customers answer {affected} on "
                  "average against {others} for the rest, and a mention moves the answer by {effect} points.",
                  driver=top.driver, share=_interval(top.share_affected, None, None, ".1%"),
                  affected=_interval(top.mean_score_affected, None, None, ".1f"),
                  others=_interval(top.mean_score_unaffected, None, None, ".1f"),
                  effect=_interval(top.effect_points, top.effect_ci_low, top.effect_ci_high, "+.2f")))

st.subheader(t("Priority quadrant — {segment}", segment=_kind(kind) + ("" if kind == "overall" else f": {value}")))
st.altair_chart(_quadrant_chart(seg), width="stretch")
st.caption(t(
    "As of {day}. How to read it: **importance** (y) is the share of the variance of likelihood-to-recommend (the "
    "0–10 answer) the driver explains — Johnson's relative weight; a segment's importances add up to its R², so "
    "*share of explained* = importance / R². **Performance** (x) is the mean answer of the customers who mention "
    "the driver. Dashed lines are the medians: top left (important and poorly rated) is where to act first. Point "
    "size is the share of answers that mention the driver, colour whether it **lowers** or **raises** the answer "
    "(its effect interval excludes 0) or has no clear effect. **Effect** is how many points the 0–10 answer moves "
    "when a customer mentions it, other drivers held fixed. Bars and intervals are bootstrap 95% intervals "
    "({resamples} resamples). These are associations in observational data, not proven causes.",
    day=f"{pd.Timestamp(head.as_of_day):%Y-%m-%d}", resamples=f"{int(head.bootstrap_resamples):,}"))

st.subheader(t("Drivers — fix first, then by importance"))
table = pd.DataFrame({
    t("fix first"): seg.fix_first_rank,
    t("driver"): seg.driver,
    t("direction"): seg.direction.map(t),
    t("effect (points, 95%)"): [_interval(r.effect_points, r.effect_ci_low, r.effect_ci_high, "+.2f")
                                for r in seg.itertuples()],
    t("share affected"): seg.share_affected,
    t("share of explained"): seg.importance_share,
    t("importance (95%)"): [_interval(r.importance, r.importance_ci_low, r.importance_ci_high, ".1%")
                            for r in seg.itertuples()],
    t("mentions"): seg.mentions,
    t("mean answer, affected"): seg.mean_score_affected,
    t("mean answer, others"): seg.mean_score_unaffected,
})
st.dataframe(table, hide_index=True, width="stretch", column_config={
    t("fix first"): st.column_config.NumberColumn(format="%d", help=t(
        "1 = fix first; only drivers that lower the score, by share of explained × share affected")),
    t("share affected"): st.column_config.NumberColumn(format="percent"),
    t("share of explained"): st.column_config.NumberColumn(format="percent", help=t("importance / R²")),
    t("mean answer, affected"): st.column_config.NumberColumn(format="%.2f"),
    t("mean answer, others"): st.column_config.NumberColumn(format="%.2f"),
})
