"""Shared helpers for the CEM dashboards: where the BI file is, and the SQL in bi/queries/.

The dashboards read only the published BI file (a read-only copy of the `marts` and `analytics` schemas
written by the `bi_publication` asset), never the warehouse. Every query in bi/queries/ returns no rows when
its table is not published yet, so a page can say "not built yet" instead of failing.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from cem_i18n import t
from cem_pipeline.config import bi_file_setting, data_dir_setting

BI_DIR = Path(__file__).resolve().parent
REPO = BI_DIR.parent
QUERIES = BI_DIR / "queries"


def bi_file() -> Path:
    """CEM_BI_FILE, else <CEM_DATA_DIR or data>/bi/cem_bi.duckdb (what `make demo` publishes); a relative
    data dir is relative to the repository, since the app runs in bi/."""
    configured = bi_file_setting()
    if configured is not None:
        return configured.resolve()
    data_dir = data_dir_setting()
    if not data_dir.is_absolute():
        data_dir = REPO / data_dir
    return (data_dir / "bi" / "cem_bi.duckdb").resolve()


def _stamp() -> float:
    path = bi_file()
    return path.stat().st_mtime if path.exists() else 0.0


@st.cache_data(show_spinner=False)
def _run(name: str, path: str, stamp: float) -> tuple[pd.DataFrame, str | None]:
    sql = (QUERIES / f"{name}.sql").read_text()
    # A fresh read-only connection per refresh: the publisher replaces the file atomically, so a new
    # open always sees a whole file (the old one or the new one).
    try:
        with duckdb.connect(path, read_only=True) as con:
            code = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
            *prefix, main = [s for s in code.split(";") if s.strip()]
            for statement in prefix:
                con.execute(statement)
            return con.execute(main).df(), None
    except duckdb.Error as error:  # a mart whose columns changed under the dashboard: say so, don't crash
        return pd.DataFrame(), f"{type(error).__name__}: {error}"


def query(name: str) -> pd.DataFrame:
    """The result of bi/queries/<name>.sql (empty if its mart is not published yet)."""
    frame, error = _run(name, str(bi_file()), _stamp())
    if error:
        st.error(t("Query `{name}` failed against the BI file: {error}", name=name, error=error))
    return frame


def published_tables() -> set[str]:
    """The tables in the BI file (schemas `marts` and `analytics`), each by its bare name (`mart_cx_alerts`,
    `mart_key_drivers`: what the pages check) and schema-qualified (`analytics.mart_key_drivers`)."""
    if not bi_file().exists():
        return set()
    tables = query("bi_tables")
    if tables.empty:
        return set()
    return set(tables["table_name"]) | set(tables["schema_name"] + "." + tables["table_name"])


def require_bi_file() -> None:
    path = bi_file()
    if not path.exists():
        st.error(t("The BI file `{path}` does not exist yet. Run `make demo` (or materialize `bi_publication` in the "
                   "Dagster UI), then reload this page.", path=path))
        st.stop()
    st.caption(t("Source: `{path}` · published {published} UTC", path=path,
                 published=f"{pd.Timestamp(path.stat().st_mtime, unit='s'):%Y-%m-%d %H:%M}"))


def not_built(table: str, what: str, schema: str = "marts") -> None:
    """``what``: the section's name, already translated."""
    st.warning(t("**{what} — not built yet.** `{table}` is not in the BI file. It appears here after the next "
                 "pipeline run that builds it (`make demo`).", what=what, table=f"{schema}.{table}"), icon="🚧")


def fmt_signed(value, digits: int = 1) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:+.{digits}f}"


def band_chart(frame: pd.DataFrame, y: str, low: str, high: str, title: str, fmt: str = ".1f",
               domain: tuple[float, float] | None = None):
    """A daily trend line over its 95% confidence band (Altair); ``title`` already translated."""
    import altair as alt

    base = alt.Chart(frame).encode(x=alt.X("feedback_day:T", title=None))
    band = base.mark_area(opacity=0.2, color="#236aa4").encode(
        y=alt.Y(f"{low}:Q", title=title, scale=alt.Scale(zero=False, domain=domain, clamp=domain is not None)),
        y2=f"{high}:Q")
    line = base.mark_line(point=True, color="#236aa4").encode(
        y=f"{y}:Q", tooltip=[alt.Tooltip("feedback_day:T", title=t("day")), alt.Tooltip(f"{y}:Q", title=title, format=fmt),
                             alt.Tooltip(f"{low}:Q", title=t("{metric} 95% low", metric=title), format=fmt),
                             alt.Tooltip(f"{high}:Q", title=t("{metric} 95% high", metric=title), format=fmt),
                             alt.Tooltip("n:Q", title=t("responses"))])
    return (band + line).properties(height=260)
