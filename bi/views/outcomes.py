"""Outcomes: what customers did after an experience — 30/90-day repurchase, spend and churn by NPS group, CSAT band
and alert status, the revenue at risk from today's detractors, and the promoter − detractor difference adjusted
for member tier and tenure.

Every figure is computed in dbt (marts.mart_experience_outcomes) and by the outcome-effects asset
(cem_pipeline/analytics/outcomes.py, analytics.mart_outcome_effects); the page only selects and formats.
"""

import altair as alt
import pandas as pd
import streamlit as st

from cem_bi import not_built, published_tables, query, require_bi_file
from cem_i18n import NPS_DEFINITION, t

st.title(t("Outcomes"))
require_bi_file()

DIMENSIONS = {"nps_group": "NPS group", "csat_band": "CSAT band", "alert_status": "alert status"}
SEGMENTS = {"overall": "overall", "member_tier": "member tier", "tenure_band": "tenure band"}
EXPERIENCES = ["promoter", "passive", "detractor", "satisfied", "neutral", "dissatisfied", "no_alert", "resolved",
               "unresolved"]
METRICS = {"repurchase_rate": "repurchase rate", "spend_per_customer": "spend per customer",
           "churn_rate": "churn (no order in 90 days)"}


def _money(value) -> str:
    return "–" if value is None or pd.isna(value) else f"¥{value:,.0f}"


def _between(value, low, high, fmt) -> str:
    if value is None or pd.isna(value):
        return "–"
    if pd.isna(low) or pd.isna(high):
        return fmt(value)
    return f"{fmt(value)} ({fmt(low)} … {fmt(high)})"


def _metric_format(metric: str):
    if metric == "spend_per_customer":
        return lambda v: f"{v:+,.0f}"
    return lambda v: f"{100 * v:+.1f}" + t(" pp")


tables = published_tables()
if "mart_experience_outcomes" not in tables:
    not_built("mart_experience_outcomes", t("Outcomes"))
    st.stop()
outcomes = query("experience_outcomes")
if outcomes.empty:
    st.info(t("**No outcomes yet.** `marts.mart_experience_outcomes` is published but empty: no customer answered "
              "a survey at least 30 days before the latest order, so no outcome window has ended yet."))
    st.stop()

as_of = pd.Timestamp(outcomes.as_of_day.max())
horizons = sorted(int(h) for h in outcomes.horizon_days.unique())
labels = {h: t("{days} days", days=h) for h in horizons}  # formatted here: the widget keeps its format_func
horizon = st.radio(t("horizon"), horizons, index=len(horizons) - 1, horizontal=True, format_func=labels.get)
cut = outcomes[outcomes.horizon_days == horizon]
detractors = cut[(cut.dimension == "nps_group") & (cut.experience == "detractor") & (cut.segment_kind == "overall")]
effects = query("outcome_effects") if "mart_outcome_effects" in tables else pd.DataFrame()
effect = effects[(effects.horizon_days == horizon) & (effects.metric == "repurchase_rate")] if not effects.empty \
    else effects

c1, c2, c3 = st.columns(3)
if not detractors.empty:
    row = detractors.iloc[0]
    c1.metric(t("revenue at risk"), _money(row.revenue_at_risk),
              f"95%: {_money(row.revenue_at_risk_ci_low)} … {_money(row.revenue_at_risk_ci_high)}", delta_color="off",
              delta_arrow="off",
              help=t("Today's detractors × (promoters' − detractors' spend per customer in the {days} days after "
                     "their answer).", days=int(horizon)))
    c2.metric(t("current detractors"), f"{int(row.current_customers):,}", help=t(NPS_DEFINITION))
if not effect.empty:
    e = effect.iloc[0]
    fmt = _metric_format("repurchase_rate")
    c3.metric(t("repurchase, promoters − detractors (adjusted)"), _between(e.adjusted_difference, None, None, fmt),
              "95%: " + _between(e.adjusted_ci_low, None, None, fmt) + " … " + _between(e.adjusted_ci_high, None, None, fmt),
              delta_color="off", delta_arrow="off", help=t("Mantel–Haenszel difference within member tier × tenure band strata, 95% interval."))

st.caption(t("As of {day}: the latest day with an order. Each customer counts once, with their latest survey "
             "answer from before {days} days earlier, so every outcome window has ended. **Repurchase** = at least one "
             "order in the {days} days after the answer (Wilson 95% interval); **spend** = net spend per customer "
             "(normal 95% interval); **churn** = no order in 90 days. These are associations, not causes: member "
             "tier and tenure move both experience and spend, which is why the difference below is adjusted for "
             "them.", day=f"{as_of:%Y-%m-%d}", days=int(horizon)) + " " + t(NPS_DEFINITION))

left, right = st.columns(2)
# Widget labels translated here, not in a lambda: a widget keeps its format_func past the run.
dimensions = {d: t(DIMENSIONS[d]) for d in DIMENSIONS if d in set(cut.dimension)}
dimension = left.selectbox(t("experience"), list(dimensions), format_func=dimensions.get)
kinds = {k: t(SEGMENTS[k]) for k in SEGMENTS if k in set(cut.segment_kind)}
kind = right.selectbox(t("segment"), list(kinds), format_func=kinds.get)
shown = cut[(cut.dimension == dimension) & (cut.segment_kind == kind)].assign(
    experience_label=lambda f: f.experience.map(t),
    group=lambda f: f.segment_value.map(lambda v: t("overall") if v == "all" else v))

st.subheader(t("Repurchase within {days} days, by {what}", days=int(horizon), what=t(DIMENSIONS[dimension])))
order = [t(e) for e in EXPERIENCES if e in set(shown.experience)]
base = alt.Chart(shown).encode(y=alt.Y("experience_label:N", sort=order, title=None))
bars = base.mark_bar(color="#236aa4", opacity=0.75).encode(
    x=alt.X("repurchase_rate:Q", title=t("repurchase rate"), axis=alt.Axis(format=".0%")),
    tooltip=[alt.Tooltip("experience_label:N", title=t("experience")),
             alt.Tooltip("customers:Q", title=t("customers")),
             alt.Tooltip("repurchase_rate:Q", title=t("repurchase rate"), format=".1%"),
             alt.Tooltip("repurchase_ci_low:Q", title=t("95% low"), format=".1%"),
             alt.Tooltip("repurchase_ci_high:Q", title=t("95% high"), format=".1%"),
             alt.Tooltip("spend_per_customer:Q", title=t("spend per customer"), format=",.0f")])
whiskers = base.mark_rule(color="#333").encode(x="repurchase_ci_low:Q", x2="repurchase_ci_high:Q")
chart = (bars + whiskers).properties(height=48 * max(2, len(order)))
if kind != "overall":  # one small chart per tier or tenure band
    chart = chart.facet(row=alt.Row("group:N", title=t(SEGMENTS[kind])))
st.altair_chart(chart, width="stretch")

st.dataframe(pd.DataFrame({
    t("segment"): shown.group,
    t("experience"): shown.experience_label,
    t("customers"): shown.customers,
    t("repurchase (95%)"): [_between(r.repurchase_rate, r.repurchase_ci_low, r.repurchase_ci_high, lambda v: f"{v:.1%}")
                            for r in shown.itertuples()],
    t("spend per customer (95%)"): [_between(r.spend_per_customer, r.spend_ci_low, r.spend_ci_high, _money)
                                    for r in shown.itertuples()],
    t("churn (95%)"): [_between(r.churn_rate, r.churn_ci_low, r.churn_ci_high, lambda v: f"{v:.1%}")
                       for r in shown.itertuples()],
    t("small n"): shown.small_n,
}), hide_index=True, width="stretch")

st.subheader(t("Promoters against detractors"))
if "mart_outcome_effects" not in tables:
    not_built("mart_outcome_effects", t("Promoters against detractors"), "analytics")
elif effects.empty:
    st.info(t("No promoter − detractor comparison yet: too few promoters or detractors with an ended outcome window."))
else:
    st.dataframe(pd.DataFrame({
        t("horizon"): effects.horizon_days.map(lambda h: t("{days} days", days=int(h))),
        t("metric"): effects.metric.map(lambda m: t(METRICS.get(m, m))),
        t("promoters"): effects.promoters,
        t("detractors"): effects.detractors,
        t("difference, unadjusted (95%)"): [
            _between(r.naive_difference, r.naive_ci_low, r.naive_ci_high, _metric_format(r.metric))
            for r in effects.itertuples()],
        t("difference, adjusted for tier × tenure (95%)"): [
            _between(r.adjusted_difference, r.adjusted_ci_low, r.adjusted_ci_high, _metric_format(r.metric))
            for r in effects.itertuples()],
        t("strata used"): effects.strata_used,
    }), hide_index=True, width="stretch")
    st.caption(t("Promoter − detractor: the unadjusted difference compares everyone; the adjusted one compares "
                 "promoters and detractors within the same member tier and tenure band (Mantel–Haenszel weights), "
                 "so a tier that both answers higher and buys more does not inflate it. Strata without both groups "
                 "are left out."))
