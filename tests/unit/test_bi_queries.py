"""The Key drivers and Metric alerts dashboards without a browser: their SQL (bi/queries/) against a small BI
file with the analytics tables' real schemas (cem_pipeline.schema), and each page run headless by Streamlit's
AppTest with data, with empty tables and with the tables not published yet.

The browser test (tests/e2e/test_bi_browser.py) opens the same pages against the shared pipeline run's BI file.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from cem_pipeline import schema
from tests.support import REPO

pytest.importorskip("streamlit")

BI = REPO / "bi"
TODAY, YESTERDAY = dt.date(2026, 12, 1), dt.date(2026, 11, 30)

DRIVER_COLUMNS = ["as_of_day", "segment_kind", "segment_value", "driver", "topic", "polarity", "responses",
                  "mentions", "share_affected", "importance", "importance_ci_low", "importance_ci_high",
                  "importance_share", "effect_points", "effect_ci_low", "effect_ci_high", "direction", "model_r2",
                  "bootstrap_resamples", "mean_score_affected", "mean_score_unaffected", "fix_first_score",
                  "fix_first_rank"]
DRIVERS = [
    # as_of, kind, value, driver, topic, polarity, responses, mentions, share, imp, lo, hi, imp_share, effect,
    # lo, hi, direction, r2, B, mean_aff, mean_unaff, fix_score, fix_rank
    (TODAY, "overall", "all", "price_negative", "price", "negative", 900, 90, 0.10, 0.06, 0.04, 0.08, 0.30,
     -2.1, -2.6, -1.6, "lowers", 0.20, 400, 4.9, 7.6, 0.03, 2),
    (TODAY, "overall", "all", "delivery_negative", "delivery", "negative", 900, 270, 0.30, 0.08, 0.06, 0.10, 0.40,
     -2.5, -2.9, -2.1, "lowers", 0.20, 400, 5.1, 7.9, 0.12, 1),
    (TODAY, "overall", "all", "staff_positive", "staff", "positive", 900, 180, 0.20, 0.05, 0.03, 0.07, 0.25,
     1.4, 1.0, 1.8, "raises", 0.20, 400, 8.6, 6.8, None, None),
    (TODAY, "overall", "all", "app_negative", "app", "negative", 900, 45, 0.05, 0.01, 0.0, 0.02, 0.05,
     -0.3, -0.9, 0.3, "no clear effect", 0.20, 400, 6.9, 7.1, None, None),
    (TODAY, "channel", "app", "app_negative", "app", "negative", 300, 40, 0.13, 0.02, 0.0, 0.05, 0.50,
     -0.4, -1.1, 0.3, "no clear effect", 0.04, 400, 6.8, 7.2, None, None),
    (TODAY, "channel", "app", "price_positive", "price", "positive", 300, 30, 0.10, 0.02, 0.0, 0.04, 0.50,
     0.5, -0.2, 1.2, "no clear effect", 0.04, 400, 7.6, 7.0, None, None),
    (TODAY, "journey_stage", "delivery", "delivery_negative", "delivery", "negative", 250, 120, 0.48, 0.30, 0.2,
     0.4, 1.0, -3.0, -3.6, -2.4, "lowers", 0.30, 400, 4.5, 8.0, 0.48, 1),
    # no bootstrap resample kept every driver: no intervals, no share of R² (R² = 0), nobody unaffected
    (TODAY, "journey_stage", "purchase", "checkout_negative", "checkout", "negative", 210, 210, 1.0, 0.0, None,
     None, None, -0.2, None, None, "no clear effect", 0.0, 1, 6.0, None, None, None),
    # a stale day: the page shows only the latest as-of day
    (YESTERDAY, "overall", "all", "stale_negative", "stale", "negative", 800, 80, 0.10, 0.5, 0.4, 0.6, 1.0,
     -5.0, -6.0, -4.0, "lowers", 0.50, 400, 2.0, 8.0, 0.10, 1),
]

ALERT_COLUMNS = ["alert_id", "alert_type", "as_of_day", "metric", "segment_kind", "segment_value", "window_days",
                 "windows_flagged", "current_n", "baseline_n", "current_value", "baseline_value", "change",
                 "change_ci_low", "change_ci_high", "p_value", "q_value", "drivers_moved", "opened_at"]
ALERTS = [
    ("a-old", "metric_drop", YESTERDAY, "nps", "store", "S01", 7, "7d", 80, 400, 10.0, 35.0, -25.0, -38.0, -12.0,
     1e-5, 0.002, "delivery_negative +20.0 pp (5.0% -> 25.0%)", dt.datetime(2026, 11, 30, 6)),
    ("a-csat", "metric_drop", TODAY, "csat", "channel", "app", 1, "1d,7d", 60, 500, 0.62, 0.81, -0.19, -0.30,
     -0.08, 2e-4, 0.01, "", dt.datetime(2026, 12, 1, 6)),
    ("a-ces", "metric_drop", TODAY, "ces", "overall", "all", 7, "7d", 300, 1200, 4.9, 5.4, -0.5, -0.7, -0.3,
     1e-7, 1e-5, "app_negative +5.0 pp (2.0% -> 7.0%)", dt.datetime(2026, 12, 1, 6)),
]

TEST_COLUMNS = ["as_of_day", "metric", "segment_kind", "segment_value", "window_days", "current_n", "baseline_n",
                "current_value", "baseline_value", "change", "change_ci_low", "change_ci_high", "z", "p_value",
                "q_value", "is_drop"]
TESTS = [
    (TODAY, "nps", "overall", "all", 7, 300, 1200, 30.0, 31.0, -1.0, -8.0, 6.0, -0.3, 0.38, 0.6, False),
    (TODAY, "csat", "channel", "app", 1, 60, 500, 0.62, 0.81, -0.19, -0.30, -0.08, -3.5, 2e-4, 0.01, True),
    (TODAY, "csat", "channel", "app", 7, 200, 500, 0.70, 0.81, -0.11, -0.18, -0.04, -3.1, 9e-4, 0.02, True),
    (TODAY, "ces", "overall", "all", 7, 300, 1200, 4.9, 5.4, -0.5, -0.7, -0.3, -5.2, 1e-7, 1e-5, True),
    (TODAY, "nps", "store", "S02", 1, 40, 300, 45.0, 40.0, 5.0, -12.0, 22.0, 0.6, 0.72, 0.8, False),
]


def make_bi_file(path, *, analytics: bool = True, rows: bool = True):
    """A BI file like the publisher's: a mart, and (``analytics``) the three analytics tables with their real
    column types, holding the rows above (``rows``) or none."""
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.mart_nps_daily AS SELECT 'app' AS channel, 10 AS n")
        if not analytics:
            return path
        con.execute("CREATE SCHEMA analytics")
        for table, columns, names, data in (
                (schema.KEY_DRIVERS_TABLE, schema.KEY_DRIVERS_COLUMNS, DRIVER_COLUMNS, DRIVERS),
                (schema.METRIC_ALERTS_TABLE, schema.METRIC_ALERTS_COLUMNS, ALERT_COLUMNS, ALERTS),
                (schema.METRIC_TESTS_TABLE, schema.METRIC_TESTS_COLUMNS, TEST_COLUMNS, TESTS)):
            con.execute(f"CREATE TABLE {table} ({columns})")
            if rows:
                frame = pd.DataFrame(data, columns=names)  # noqa: F841 (read by the INSERT)
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM frame")
    return path


@pytest.fixture
def cem_bi(monkeypatch):
    monkeypatch.syspath_prepend(str(BI))
    import cem_bi

    return cem_bi


def _query(cem_bi, monkeypatch, bi_file, name: str) -> pd.DataFrame:
    monkeypatch.setenv("CEM_BI_FILE", str(bi_file))
    frame, error = cem_bi._run(name, str(bi_file), bi_file.stat().st_mtime)
    assert error is None, error
    return frame


def test_published_tables_lists_the_marts_and_the_analytics_tables(tmp_path, monkeypatch, cem_bi):
    monkeypatch.setenv("CEM_BI_FILE", str(make_bi_file(tmp_path / "bi.duckdb")))
    tables = cem_bi.published_tables()
    assert {"mart_nps_daily", "mart_key_drivers", "mart_metric_alerts", "metric_tests"} <= tables
    assert {"marts.mart_nps_daily", "analytics.mart_key_drivers"} <= tables
    monkeypatch.setenv("CEM_BI_FILE", str(make_bi_file(tmp_path / "marts_only.duckdb", analytics=False)))
    assert cem_bi.published_tables() == {"mart_nps_daily", "marts.mart_nps_daily"}
    monkeypatch.setenv("CEM_BI_FILE", str(tmp_path / "missing.duckdb"))
    assert cem_bi.published_tables() == set()


def test_key_drivers_query_latest_day_fix_first_then_importance(tmp_path, monkeypatch, cem_bi):
    frame = _query(cem_bi, monkeypatch, make_bi_file(tmp_path / "bi.duckdb"), "key_drivers")
    assert list(frame.columns) == DRIVER_COLUMNS
    assert set(frame.as_of_day.dt.date) == {TODAY}, "only the latest as-of day"
    assert list(dict.fromkeys(frame.segment_kind)) == ["overall", "channel", "journey_stage"]
    overall = frame[frame.segment_kind == "overall"]
    assert list(overall.driver) == ["delivery_negative", "price_negative", "staff_positive", "app_negative"]
    # Selected, not recomputed: the stored figures come back as they are.
    top = overall.iloc[0]
    assert (top.importance, top.importance_share, top.effect_points, top.fix_first_rank) == (0.08, 0.40, -2.5, 1)


def test_metric_alerts_query_newest_first_surest_first(tmp_path, monkeypatch, cem_bi):
    frame = _query(cem_bi, monkeypatch, make_bi_file(tmp_path / "bi.duckdb"), "metric_alerts")
    assert list(frame.alert_id) == ["a-ces", "a-csat", "a-old"]
    assert set(ALERT_COLUMNS) == set(frame.columns)
    assert frame.set_index("alert_id").at["a-csat", "change"] == -0.19


def test_metric_tests_query_every_test_most_significant_first(tmp_path, monkeypatch, cem_bi):
    frame = _query(cem_bi, monkeypatch, make_bi_file(tmp_path / "bi.duckdb"), "metric_tests")
    assert list(frame.columns) == TEST_COLUMNS
    assert len(frame) == len(TESTS)
    assert list(frame.q_value) == sorted(t[14] for t in TESTS)
    assert frame.is_drop.sum() == 3


@pytest.mark.parametrize("name", ["key_drivers", "metric_alerts", "metric_tests"])
@pytest.mark.parametrize("analytics", [False, True], ids=["not_published", "empty"])
def test_queries_return_no_rows_when_not_published_or_empty(tmp_path, monkeypatch, cem_bi, name, analytics):
    bi_file = make_bi_file(tmp_path / "bi.duckdb", analytics=analytics, rows=False)
    assert _query(cem_bi, monkeypatch, bi_file, name).empty


# --- the pages, run headless (no browser) ----------------------------------------------------------------


def _page(monkeypatch, bi_file, page: str, lang: str = "en"):
    from streamlit.testing.v1 import AppTest

    monkeypatch.syspath_prepend(str(BI))
    monkeypatch.setenv("CEM_BI_FILE", str(bi_file))
    monkeypatch.setenv("CEM_BI_LANG", lang)
    app = AppTest.from_file(str(BI / "views" / page), default_timeout=60).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _metrics(app) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def test_key_drivers_page_shows_the_quadrant_and_fix_first(tmp_path, monkeypatch):
    app = _page(monkeypatch, make_bi_file(tmp_path / "bi.duckdb"), "key_drivers.py")
    assert app.title[0].value == "Key drivers"
    assert _metrics(app) == {"NPS answers": "900", "drivers analysed": "4", "variance explained (R²)": "20.0%",
                             "drivers that lower it": "2"}
    assert app.get("vega_lite_chart"), "no quadrant chart"
    table = app.dataframe[0].value
    assert list(table["driver"]) == ["delivery_negative", "price_negative", "staff_positive", "app_negative"]
    assert table["effect (points, 95%)"].iloc[0] == "-2.50 (-2.90 … -2.10)"
    assert "Fix first: `delivery_negative`" in app.markdown[0].value
    assert any("bootstrap 95%" in c.value and "explained" in c.value for c in app.caption)

    # Another segment: a channel where no driver clearly lowers the score.
    app.selectbox[0].set_value("channel").run()
    assert app.selectbox[1].value == "app"
    assert _metrics(app)["drivers that lower it"] == "0"
    assert any("No driver clearly lowers" in i.value for i in app.info)
    assert list(app.dataframe[0].value["driver"]) == ["app_negative", "price_positive"]

    # A segment whose figures have no intervals still renders (the value alone, '–' where missing).
    app.selectbox[0].set_value("journey_stage").run()
    app.selectbox[1].set_value("purchase").run()
    assert not app.exception, [e.value for e in app.exception]
    assert list(app.dataframe[0].value["effect (points, 95%)"]) == ["-0.20"]


def test_metric_alerts_page_lists_drops_newest_first_and_every_test(tmp_path, monkeypatch):
    app = _page(monkeypatch, make_bi_file(tmp_path / "bi.duckdb"), "metric_alerts.py")
    assert app.title[0].value == "Metric alerts"
    assert _metrics(app) == {"alerts": "3", "NPS alerts": "1", "segments tested": "5", "as of": "2026-12-01"}
    alerts, tests = app.dataframe[0].value, app.dataframe[1].value
    assert list(alerts["segment"]) == ["overall", "channel: app", "store: S01"]
    assert list(alerts["change (95%)"]) == ["-0.50 (-0.70 … -0.30)", "-19.0 pp (-30.0 … -8.0)",
                                            "-25.0 pts (-38.0 … -12.0)"]
    assert alerts["drivers that moved"].iloc[0].startswith("app_negative")
    assert len(tests) == 5 and tests["drop"].sum() == 3
    assert not app.success

    app.multiselect[0].set_value(["nps"]).run()
    assert list(app.dataframe[0].value["segment"]) == ["store: S01"]
    assert len(app.dataframe[1].value) == 2
    assert _metrics(app)["alerts"] == "3", "the tiles count the whole run"


def test_pages_with_empty_tables_say_so(tmp_path, monkeypatch):
    bi_file = make_bi_file(tmp_path / "bi.duckdb", rows=False)
    drivers = _page(monkeypatch, bi_file, "key_drivers.py")
    assert any("No key drivers yet" in i.value for i in drivers.info)
    alerts = _page(monkeypatch, bi_file, "metric_alerts.py")
    assert [s.value for s in alerts.success] == ["No significant drops."]
    assert _metrics(alerts) == {"alerts": "0", "NPS alerts": "0", "segments tested": "0", "as of": "–"}


def test_pages_before_the_analytics_tables_are_published_say_not_built_yet(tmp_path, monkeypatch):
    bi_file = make_bi_file(tmp_path / "bi.duckdb", analytics=False)
    for page, table in (("key_drivers.py", "analytics.mart_key_drivers"),
                        ("metric_alerts.py", "analytics.mart_metric_alerts")):
        app = _page(monkeypatch, bi_file, page)
        assert any("not built yet" in w.value and table in w.value for w in app.warning), page
        assert not app.dataframe


def test_the_pages_in_chinese(tmp_path, monkeypatch):
    """CEM_BI_LANG=zh: the same figures under Chinese titles, labels, tables and sentences."""
    bi_file = make_bi_file(tmp_path / "bi.duckdb")
    drivers = _page(monkeypatch, bi_file, "key_drivers.py", "zh")
    assert drivers.title[0].value == "关键驱动因素"
    assert _metrics(drivers) == {"NPS 回答数": "900", "分析的驱动因素": "4", "解释方差（R²）": "20.0%",
                                 "拉低得分的因素": "2"}
    assert drivers.markdown[0].value.startswith("**优先改进：`delivery_negative`**")
    table = drivers.dataframe[0].value
    assert table["影响（分，95%）"].iloc[0] == "-2.50 (-2.90 … -2.10)"
    assert list(table["方向"]) == ["拉低", "拉低", "拉高", "无明确影响"]
    assert any("自助法 95% 区间（400 次重抽样）" in c.value for c in drivers.caption)

    alerts = _page(monkeypatch, bi_file, "metric_alerts.py", "zh")
    assert alerts.title[0].value == "指标下跌预警"
    assert _metrics(alerts) == {"预警数": "3", "NPS 预警": "1", "检验的细分": "5", "截至": "2026-12-01"}
    shown = alerts.dataframe[0].value
    assert list(shown["细分"]) == ["整体", "渠道: app", "门店: S01"]
    assert list(shown["变化（95%）"])[1:] == ["-19.0 个百分点 (-30.0 … -8.0)", "-25.0 分 (-38.0 … -12.0)"]

    empty = _page(monkeypatch, make_bi_file(tmp_path / "empty.duckdb", analytics=False), "key_drivers.py", "zh")
    assert any("尚未生成" in w.value and "analytics.mart_key_drivers" in w.value for w in empty.warning)


# --- the Outcomes page ------------------------------------------------------------------------------------

OUTCOME_ROWS = [
    # horizon, dimension, experience, segment kind, value, customers, repurchasers, rate, lo, hi, spend, lo, hi,
    # churn, current customers, revenue at risk, lo, hi
    (90, "nps_group", "promoter", "overall", "all", 400, 240, 0.60, 0.55, 0.65, 820.0, 760.0, 880.0, 0.40, 410,
     None, None, None),
    (90, "nps_group", "passive", "overall", "all", 300, 135, 0.45, 0.39, 0.51, 610.0, 550.0, 670.0, 0.55, 290,
     None, None, None),
    (90, "nps_group", "detractor", "overall", "all", 200, 60, 0.30, 0.24, 0.37, 400.0, 330.0, 470.0, 0.70, 150,
     63000.0, 48000.0, 78000.0),
    (90, "nps_group", "detractor", "member_tier", "gold", 50, 20, 0.40, 0.27, 0.54, 500.0, 380.0, 620.0, 0.60, 40,
     9000.0, 2000.0, 16000.0),
    (30, "nps_group", "detractor", "overall", "all", 260, 40, 0.15, 0.11, 0.20, 150.0, 120.0, 180.0, None, 150,
     21000.0, 15000.0, 27000.0),
]
EFFECT_ROWS = [
    (TODAY, 90, "repurchase_rate", "promoter - detractor", "member_tier x tenure_band", 400, 200, 0.30, 0.22, 0.38,
     0.26, 0.18, 0.34, 0.04, 9, 1),
    (TODAY, 90, "spend_per_customer", "promoter - detractor", "member_tier x tenure_band", 400, 200, 420.0, 330.0,
     510.0, 380.0, 290.0, 470.0, 46.0, 9, 1),
]


def make_outcomes_bi_file(path):
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        rows = pd.DataFrame(OUTCOME_ROWS, columns=[  # noqa: F841 (read by the SQL)
            "horizon_days", "dimension", "experience", "segment_kind", "segment_value", "customers", "repurchasers",
            "repurchase_rate", "repurchase_ci_low", "repurchase_ci_high", "spend_per_customer", "spend_ci_low",
            "spend_ci_high", "churn_rate", "current_customers", "revenue_at_risk", "revenue_at_risk_ci_low",
            "revenue_at_risk_ci_high"])
        con.execute(f"""CREATE TABLE marts.mart_experience_outcomes AS SELECT DATE '{TODAY}' AS as_of_day, *,
            customers < 30 AS small_n, 1.0 AS orders_per_customer, churn_rate - 0.05 AS churn_ci_low,
            churn_rate + 0.05 AS churn_ci_high FROM rows""")
        con.execute("CREATE SCHEMA analytics")
        con.execute(f"CREATE TABLE {schema.OUTCOME_EFFECTS_TABLE} ({schema.OUTCOME_EFFECTS_COLUMNS})")
        effects = pd.DataFrame(EFFECT_ROWS, columns=schema.column_names(schema.OUTCOME_EFFECTS_COLUMNS))  # noqa: F841
        con.execute(f"INSERT INTO {schema.OUTCOME_EFFECTS_TABLE} BY NAME SELECT * FROM effects")
    return path


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_outcomes_page_shows_revenue_at_risk_and_the_adjusted_difference(tmp_path, monkeypatch, lang):
    app = _page(monkeypatch, make_outcomes_bi_file(tmp_path / "bi.duckdb"), "outcomes.py", lang)
    zh = lang == "zh"
    assert app.title[0].value == ("体验与经营结果" if zh else "Outcomes")
    tiles = _metrics(app)
    assert tiles[("风险收入" if zh else "revenue at risk")] == "¥63,000"
    assert tiles[("当前贬损者" if zh else "current detractors")] == "150"
    assert tiles[("复购率差，推荐者 − 贬损者（已调整）" if zh else "repurchase, promoters − detractors (adjusted)")] \
        == ("+26.0 个百分点" if zh else "+26.0 pp")
    assert [m.delta for m in app.metric][2] == ("95%: +18.0 个百分点 … +34.0 个百分点" if zh else "95%: +18.0 pp … +34.0 pp")
    groups = app.dataframe[0].value
    experience = "体验" if zh else "experience"
    assert list(groups[experience]) == (["推荐者", "被动者", "贬损者"] if zh else ["promoter", "passive", "detractor"])
    assert list(groups["复购率（95%）" if zh else "repurchase (95%)"])[2] == "30.0% (24.0% … 37.0%)"
    effects = app.dataframe[1].value
    assert list(effects["差值，按等级 × 客龄调整（95%）" if zh else "difference, adjusted for tier × tenure (95%)"]) == (
        ["+26.0 个百分点 (+18.0 个百分点 … +34.0 个百分点)", "+380 (+290 … +470)"] if zh
        else ["+26.0 pp (+18.0 pp … +34.0 pp)", "+380 (+290 … +470)"])
    assert any(("关联而非因果" if zh else "associations, not causes") in c.value for c in app.caption)

    # The 30-day horizon and a segment: the member-tier rows of that horizon only.
    app.radio[0].set_value(30).run()
    assert _metrics(app)[("风险收入" if zh else "revenue at risk")] == "¥21,000"
    app.radio[0].set_value(90).run()
    app.selectbox[1].set_value("member_tier").run()
    assert not app.exception, [e.value for e in app.exception]
    assert list(app.dataframe[0].value["细分" if zh else "segment"]) == ["gold"]


def test_outcomes_page_before_the_mart_is_published_or_filled(tmp_path, monkeypatch):
    app = _page(monkeypatch, make_bi_file(tmp_path / "bi.duckdb"), "outcomes.py")
    assert any("not built yet" in w.value and "marts.mart_experience_outcomes" in w.value for w in app.warning)
    empty = make_outcomes_bi_file(tmp_path / "empty.duckdb")
    with duckdb.connect(str(empty)) as con:
        con.execute("DELETE FROM marts.mart_experience_outcomes")
    app = _page(monkeypatch, empty, "outcomes.py")
    assert any("No outcomes yet" in i.value for i in app.info) and not app.error
