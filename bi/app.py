"""The CEM dashboards: one Streamlit app (`make bi`, i.e. `streamlit run app.py` in bi/), every page in English
or Chinese (the sidebar's switch; `CEM_BI_LANG` or the locale by default: bi/cem_i18n.py).

The pages are bi/views/*.py; each reads only the published BI file. The URL paths are the pages' English names
(`/Key_drivers`), the same in both languages, so a link works for every reader.
"""

import streamlit as st

from cem_i18n import language_switch, t

st.set_page_config(page_title="CEM", page_icon="📈", layout="wide")
language_switch()

PAGES = [  # (file, English title: t() gives the shown one, icon, URL path)
    ("views/overview.py", "CX overview", "📈", "Overview"),
    ("views/pain_points.py", "Pain points", "🩹", "Pain_points"),
    ("views/store_scorecard.py", "Store scorecard", "🏬", "Store_scorecard"),
    ("views/closed_loop_alerts.py", "Closed-loop alerts", "🚨", "Closed_loop_alerts"),
    ("views/key_drivers.py", "Key drivers", "🧭", "Key_drivers"),
    ("views/metric_alerts.py", "Metric alerts", "📉", "Metric_alerts"),
    ("views/outcomes.py", "Outcomes", "💰", "Outcomes"),
]
st.navigation([st.Page(path, title=t(title), icon=icon, url_path=url, default=i == 0)
               for i, (path, title, icon, url) in enumerate(PAGES)]).run()
