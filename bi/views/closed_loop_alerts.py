"""Open closed-loop alerts: one per identified customer per day, most urgent first (masked fields only)."""

import pandas as pd
import streamlit as st

from cem_bi import not_built, published_tables, query, require_bi_file
from cem_i18n import column_config, column_label, t

st.title(t("Closed-loop alerts"))
require_bi_file()

if "mart_cx_alerts" not in published_tables():
    not_built("mart_cx_alerts", t("Closed-loop alerts"))
else:
    alerts = query("cx_alerts")
    if alerts.empty:
        st.success(t("No open alerts."))
    else:
        now = pd.Timestamp.now(tz=alerts.due_at.dt.tz) if alerts.due_at.dt.tz is not None else pd.Timestamp.now()
        # The simulator's clock may lag or lead the wall clock: measure overdue against the newest alert.
        reference = min(now, alerts.opened_at.max()) if alerts.opened_at.notna().any() else now
        alerts = alerts.assign(overdue=alerts.due_at < reference)
        c1, c2, c3, c4 = st.columns(4)
        c1.metric(t("open alerts"), f"{len(alerts):,}")
        c2.metric("P1", f"{(alerts.priority == 'P1').sum():,}")
        c3.metric(t("critical"), f"{(alerts.severity == 'critical').sum():,}")
        c4.metric(t("past SLA"), f"{alerts.overdue.sum():,}",
                  help=t("Open alerts for one customer each per day; an alert is past its SLA when its due time is "
                         "before the newest alert's opening (the data's clock)."))
        priorities = sorted(alerts.priority.dropna().unique())
        chosen = st.multiselect(column_label("priority"), priorities, default=priorities)
        shown = alerts[alerts.priority.isin(chosen)]
        st.dataframe(shown, hide_index=True, use_container_width=True, column_config=column_config(shown))
        st.caption(t("Customer keys and redacted text only: the BI file never holds raw PII."))
