"""Open closed-loop alerts: one per identified customer per day, most urgent first (masked fields only)."""

import pandas as pd
import streamlit as st

from cem_bi import not_built, published_tables, query, require_bi_file

st.set_page_config(page_title="Closed-loop alerts · CEM", page_icon="🚨", layout="wide")
st.title("Closed-loop alerts")
require_bi_file()

if "mart_cx_alerts" not in published_tables():
    not_built("mart_cx_alerts", "Closed-loop alerts")
else:
    alerts = query("cx_alerts")
    if alerts.empty:
        st.success("No open alerts.")
    else:
        now = pd.Timestamp.now(tz=alerts.due_at.dt.tz) if alerts.due_at.dt.tz is not None else pd.Timestamp.now()
        # The simulator's clock may lag or lead the wall clock: measure overdue against the newest alert.
        reference = min(now, alerts.opened_at.max()) if alerts.opened_at.notna().any() else now
        alerts = alerts.assign(overdue=alerts.due_at < reference)
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("open alerts", f"{len(alerts):,}")
        c2.metric("P1", f"{(alerts.priority == 'P1').sum():,}")
        c3.metric("critical", f"{(alerts.severity == 'critical').sum():,}")
        c4.metric("past SLA", f"{alerts.overdue.sum():,}")
        priorities = sorted(alerts.priority.dropna().unique())
        chosen = st.multiselect("priority", priorities, default=priorities)
        st.dataframe(alerts[alerts.priority.isin(chosen)], hide_index=True, use_container_width=True)
        st.caption("Customer keys and redacted text only: the BI file never holds raw PII.")
