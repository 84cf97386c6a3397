"""Store scorecard: stores ranked by NPS over the scorecard window, with margin of error, CSAT and CES."""

import altair as alt
import streamlit as st

from cem_bi import not_built, published_tables, query, require_bi_file
from cem_i18n import CES_DEFINITION, CSAT_DEFINITION, MOE_DEFINITION, NPS_DEFINITION, column_config, column_label, t

st.title(t("Store scorecard"))
require_bi_file()

if "mart_store_scorecard" not in published_tables():
    not_built("mart_store_scorecard", t("Store scorecard"))
else:
    stores = query("store_scorecard")
    if stores.empty:
        st.info(t("mart_store_scorecard is published but has no rows yet."))
    else:
        st.caption(t("Window {start} … {end}. Bars show the 95% interval; stores with fewer than 30 NPS responses are "
                     "flagged small n and get no reliable rank.", start=f"{stores.period_start.min():%Y-%m-%d}",
                     end=f"{stores.period_end.max():%Y-%m-%d}") + " " + t(NPS_DEFINITION))
        ranked = stores.dropna(subset=["nps"]).assign(
            label=lambda f: f.store_name.fillna(f.store_id) + " (" + f.city.fillna("?") + ")")
        base = alt.Chart(ranked).encode(y=alt.Y("label:N", sort=alt.EncodingSortField("nps", order="descending"),
                                                title=None))
        chart = (base.mark_rule(color="#999").encode(x=alt.X("nps_ci_low:Q", title=t("NPS (95% interval)")),
                                                     x2="nps_ci_high:Q")
                 + base.mark_point(filled=True, size=60).encode(
                     x="nps:Q", color=alt.Color("small_n:N", title=column_label("small_n")),
                     tooltip=[alt.Tooltip(c, title=column_label(c)) for c in (
                         "store_id", "store_name", "city", "region", "n", "nps", "nps_margin_of_error", "csat",
                         "ces", "nps_rank_reliable")]))
        st.altair_chart(chart.properties(height=22 * len(ranked) + 40), use_container_width=True)
        st.dataframe(stores, hide_index=True, use_container_width=True, column_config=column_config(
            stores,
            nps=lambda label: st.column_config.NumberColumn(label, format="%.1f", help=t(NPS_DEFINITION)),
            nps_margin_of_error=lambda label: st.column_config.NumberColumn(label, format="%.1f",
                                                                            help=t(MOE_DEFINITION)),
            csat=lambda label: st.column_config.NumberColumn(label, format="percent", help=t(CSAT_DEFINITION)),
            ces=lambda label: st.column_config.NumberColumn(label, format="%.2f", help=t(CES_DEFINITION))))
