"""The dashboards, end to end in a real browser: take the BI file of the session's shared daily run,
serve the Streamlit dashboards (bi/app.py) against it, open every page in headless Chromium in English and in
Chinese, check that the NPS shown for each channel equals the mart's value, that the Key drivers and Metric
alerts pages show what analytics.mart_key_drivers / mart_metric_alerts / metric_tests hold (or say why they are
empty), that no text of the other language is left on a page and that the sidebar's switch changes the
language of every page, and save screenshots under test-artifacts/bi/.

Skipped, with the reason printed, only where Chromium, Streamlit or Playwright is not installed
(`make bi` / .ci/run install them: apt-get chromium, pip install -r bi/requirements.txt).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support import REPO
from tests.support.e2e import query

sys.path.insert(0, str(REPO / "bi"))  # bi/ is the app's folder, not a package
try:
    import cem_i18n
except ImportError:  # no streamlit: _requirements() skips every test, saying why
    cem_i18n = None
finally:
    sys.path.remove(str(REPO / "bi"))

pytestmark = pytest.mark.e2e

ARTIFACTS = REPO / "test-artifacts" / "bi"
CHROMIUM = os.environ.get("CEM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
PAGES = {"overview": "", "pain_points": "Pain_points", "store_scorecard": "Store_scorecard",
         "closed_loop_alerts": "Closed_loop_alerts", "key_drivers": "Key_drivers", "metric_alerts": "Metric_alerts",
         "outcomes": "Outcomes"}
TITLES = {"overview": "Customer experience — executive overview", "pain_points": "Pain points",
          "store_scorecard": "Store scorecard", "closed_loop_alerts": "Closed-loop alerts",
          "key_drivers": "Key drivers", "metric_alerts": "Metric alerts", "outcomes": "Outcomes"}
NAV = ["CX overview", "Pain points", "Store scorecard", "Closed-loop alerts", "Key drivers", "Metric alerts",
       "Outcomes"]
LANGS = ["en", "zh"]


def tr(text: str, lang: str, **values) -> str:
    """What bi/cem_i18n.t shows in ``lang``."""
    text = cem_i18n.ZH.get(text, text) if lang == "zh" else text
    return text.format(**values) if values else text


def _other_language_left(body: str, lang: str) -> list[str]:
    """Fixed texts of the other language found on a page: English phrases of two words or more on a Chinese
    page (the fixed parts of a sentence with figures in it, if long), Chinese translations on an English one.
    Figures and data (channel names, drivers) are not fixed texts."""
    if lang == "zh":
        parts = [p.strip() for e in cem_i18n.ZH for p in re.split(r"\{\w+\}", e)]
        phrases = {p for p in parts if " " in p and (len(p) >= 20 or p in cem_i18n.ZH)}
    else:
        phrases = {z for z in cem_i18n.ZH.values() if "{" not in z and re.search(r"[\u4e00-\u9fff]{2}", z)}
    return sorted(p for p in phrases if p in body)


def _skip(reason: str):
    print(f"\nSKIP test_bi_browser: {reason}", file=sys.stderr)
    pytest.skip(reason)


def _requirements():
    if not Path(CHROMIUM).exists():
        _skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CEM_CHROMIUM)")
    for module in ("streamlit", "playwright"):
        try:
            __import__(module)
        except ImportError:
            _skip(f"python package {module!r} is not installed (pip install -r bi/requirements.txt)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def bi_run(shared):
    """The BI file the session's daily run published (tests/support/shared_pipeline.py)."""
    _requirements()
    bi_file = shared.daily.bi_file
    assert bi_file.exists(), f"the daily job published no BI file (success={shared.daily.result.success})"
    return bi_file


@pytest.fixture(scope="module")
def dashboards(bi_run):
    port = _free_port()
    streamlit = Path(sys.executable).with_name("streamlit")
    command = [str(streamlit) if streamlit.exists() else "streamlit", "run", "app.py",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    log = open(bi_run.parent / "streamlit.log", "w")
    proc = subprocess.Popen(command, cwd=REPO / "bi", stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "CEM_BI_FILE": str(bi_run), "CEM_BI_LANG": "en"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise AssertionError("streamlit did not start:\n" + (bi_run.parent / "streamlit.log").read_text())
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    _requirements()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # A fresh profile directory (Playwright's launch_persistent_context would be the way to pass
        # --user-data-dir; launch() makes its own temporary profile, which is fresh every time).
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _open(browser, url: str, heading: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
    # Streamlit renders progressively: wait until the script run is over.
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(1500)  # let charts (Vega) finish drawing before the screenshot
    return page


def _exceptions(page) -> list[str]:
    return [e.inner_text() for e in page.query_selector_all('[data-testid="stException"]')]


def _tiles(page) -> dict[str, str]:
    """The page's metric tiles, label -> value as shown."""
    return {m.locator('[data-testid="stMetricLabel"]').inner_text().strip():
            m.locator('[data-testid="stMetricValue"]').inner_text().strip()
            for m in page.locator('[data-testid="stMetric"]').all()}


def _published(bi_file, table: str) -> bool:
    schema_name, name = table.split(".")
    return len(query(bi_file, f"select 1 from information_schema.tables where table_schema = '{schema_name}' "
                              f"and table_name = '{name}'")) > 0


def _url(base: str, name: str, lang: str) -> str:
    return f"{base}/{PAGES[name]}?lang={lang}"


def _check_language(page, lang: str) -> str:
    """The page's text, after checking that none of the other language is left on it and that the sidebar
    names every page in this language."""
    body = page.inner_text("body")
    assert not _other_language_left(body, lang), f"{lang} page shows: {_other_language_left(body, lang)}"
    nav = [link.split("\n")[-1].strip() for link in page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()]
    assert nav == [tr(title, lang) for title in NAV], nav
    return body


@pytest.mark.parametrize("lang", LANGS)
def test_overview_shows_the_marts_nps_per_channel(bi_run, dashboards, browser, lang):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = _open(browser, _url(dashboards, "overview", lang), tr(TITLES["overview"], lang))
    try:
        page.screenshot(path=str(ARTIFACTS / f"overview-{lang}.png"), full_page=True)
        assert not _exceptions(page), _exceptions(page)
        _check_language(page, lang)
        # Recomputed here from the NPS cells (not read from the roll-up the page shows), unrounded: the
        # dashboard's one-decimal figure must lie within 0.05 of it.
        expected = query(bi_run, """
            with last as (select max(feedback_day) as d from marts.mart_nps_daily)
            select channel, sum(n) as n, 100.0 * (sum(promoters) - sum(detractors)) / sum(n) as nps
            from marts.mart_nps_daily, last where feedback_day > last.d - 7 group by channel order by channel
        """)
        rollup = query(bi_run, "select channel, n, nps from marts.mart_nps_by_channel_last_7_days order by channel")
        assert list(rollup.channel) == list(expected.channel) and list(rollup.n) == list(expected.n)
        assert len(expected) >= 2, expected
        table = page.locator('[data-testid="stTable"] table').first
        table.wait_for()
        header = [c.strip() for c in table.locator("thead th").all_inner_texts()]
        for column in ("responses", "NPS", "± 95% MoE", "small n"):
            assert tr(column, lang) in header, header
        shown = {}
        for row in table.locator("tbody tr").all():
            cells = [c.strip() for c in row.locator("th, td").all_inner_texts()]
            shown[cells[0]] = cells
        for row in expected.itertuples():
            assert row.channel in shown, f"channel {row.channel} missing from the dashboard: {shown}"
            assert shown[row.channel][1] == str(int(row.n)), (row, shown[row.channel])
            assert float(shown[row.channel][2]) == pytest.approx(row.nps, abs=0.0501), (row, shown[row.channel])
        # The headline metric tiles agree as well.
        first = expected.iloc[0]
        tile = page.locator('[data-testid="stMetric"]', has_text=first.channel).first
        assert f"{float(shown[first.channel][2]):+.1f}" in tile.inner_text()
    finally:
        page.close()


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", [n for n in PAGES if n != "overview"])
def test_every_dashboard_renders_without_errors(bi_run, dashboards, browser, name, lang):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = _open(browser, _url(dashboards, name, lang), tr(TITLES[name], lang))
    try:
        page.screenshot(path=str(ARTIFACTS / f"{name}-{lang}.png"), full_page=True)
        assert not _exceptions(page), _exceptions(page)
        body = _check_language(page, lang)
        assert "Traceback" not in body
        # Either the mart's content or a clear "not built yet" message.
        assert ("not built yet" if lang == "en" else "尚未生成") in body or page.locator(
            '[data-testid="stDataFrame"], [data-testid="stVegaLiteChart"], [data-testid="stAlert"]').count() > 0
    finally:
        page.close()


def test_the_switch_changes_the_language_of_every_page(bi_run, dashboards, browser):
    page = _open(browser, dashboards, TITLES["overview"])  # CEM_BI_LANG=en: English by default
    try:
        page.locator('[data-testid="stSidebar"]').get_by_text("中文", exact=True).click()
        page.get_by_role("heading", name=tr(TITLES["overview"], "zh")).first.wait_for(timeout=60_000)
        assert "lang=zh" in page.url
        # Another page, reached through the sidebar: still Chinese (the choice lasts the browser session).
        page.locator('[data-testid="stSidebarNav"] a', has_text=tr("Store scorecard", "zh")).click()
        page.get_by_role("heading", name=tr(TITLES["store_scorecard"], "zh")).first.wait_for(timeout=60_000)
        page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
        _check_language(page, "zh")
        page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
        page.get_by_role("heading", name=TITLES["store_scorecard"]).first.wait_for(timeout=60_000)
    finally:
        page.close()


CHARTS = '[data-testid="stVegaLiteChart"]'
TABLES = '[data-testid="stDataFrame"]'


@pytest.mark.parametrize("lang", LANGS)
def test_key_drivers_page_shows_the_mart(bi_run, dashboards, browser, lang):
    # The daily job builds the key drivers; at the e2e size (300 customers) the table may well be empty (too
    # few NPS answers or mentions per segment): then the page must say why instead of drawing nothing.
    assert _published(bi_run, "analytics.mart_key_drivers"), "the daily run published no analytics.mart_key_drivers"
    drivers = query(bi_run, """
        select segment_kind, segment_value, driver, responses, fix_first_rank from analytics.mart_key_drivers
        where as_of_day = (select max(as_of_day) from analytics.mart_key_drivers)""")
    page = _open(browser, _url(dashboards, "key_drivers", lang), tr("Key drivers", lang))
    try:
        assert not _exceptions(page), _exceptions(page)
        body = _check_language(page, lang)
        if drivers.empty:
            assert ("No key drivers yet" if lang == "en" else "尚无关键驱动因素") in body, body
            assert page.locator(CHARTS).count() == 0
            return
        # The page opens on the overall segment, which has rows whenever any segment has (it holds every answer).
        segment = drivers[drivers.segment_kind == "overall"]
        assert not segment.empty, drivers
        page.locator(CHARTS).first.wait_for()
        assert page.locator(CHARTS).count() >= 1 and page.locator(TABLES).count() >= 1
        tiles = _tiles(page)
        assert tiles[tr("NPS answers", lang)] == f"{int(segment.responses.iloc[0]):,}", tiles
        assert tiles[tr("drivers analysed", lang)] == f"{len(segment):,}", tiles
        ranked = segment.dropna(subset=["fix_first_rank"]).sort_values("fix_first_rank")
        assert tiles[tr("drivers that lower it", lang)] == f"{len(ranked):,}", tiles
        if ranked.empty:
            assert tr("No driver clearly lowers the score in this segment: every lowering effect's 95% interval "
                      "covers 0.", lang) in body
        else:
            assert ("Fix first: " if lang == "en" else "优先改进：") + ranked.driver.iloc[0] in body, body
        assert ("bootstrap 95% intervals" if lang == "en" else "自助法 95% 区间") in body
    finally:
        page.close()


@pytest.mark.parametrize("lang", LANGS)
def test_metric_alerts_page_shows_the_mart(bi_run, dashboards, browser, lang):
    for table in ("analytics.mart_metric_alerts", "analytics.metric_tests"):
        assert _published(bi_run, table), f"the daily run published no {table}"
    alerts = query(bi_run, "select metric from analytics.mart_metric_alerts")
    tests = query(bi_run, "select count(*) as n from analytics.metric_tests").n.iloc[0]
    page = _open(browser, _url(dashboards, "metric_alerts", lang), tr("Metric alerts", lang))
    try:
        assert not _exceptions(page), _exceptions(page)
        body = _check_language(page, lang)
        tiles = _tiles(page)
        assert tiles[tr("alerts", lang)] == f"{len(alerts):,}", tiles
        assert tiles[tr("NPS alerts", lang)] == f"{(alerts.metric == 'nps').sum():,}", tiles
        assert tiles[tr("segments tested", lang)] == f"{int(tests):,}", tiles
        assert tr("All tests of the run ({n}): drops or not, the most significant first", lang,
                  n=f"{int(tests):,}") in body, body
        none = tr("No significant drops among the {n} tests of the run.", lang, n=f"{int(tests):,}")
        if alerts.empty:
            assert none in body or tr("No significant drops.", lang) in body, body
        else:
            assert none not in body
            assert tr("Significant drops — newest first ({shown} of {total})", lang, shown=f"{len(alerts):,}",
                      total=f"{len(alerts):,}") in body, body
            assert page.locator(TABLES).count() >= 1
    finally:
        page.close()
