"""The dashboards, end to end in a real browser: take the BI file of the session's shared daily run,
serve the Streamlit dashboards (bi/) against it, open every page in headless Chromium,
check that the NPS shown for each channel equals the mart's value, that the Key drivers and Metric alerts
pages show what analytics.mart_key_drivers / mart_metric_alerts / metric_tests hold (or say why they are
empty), and save screenshots under test-artifacts/bi/.

Skipped, with the reason printed, only where Chromium, Streamlit or Playwright is not installed
(`make bi` / .ci/run install them: apt-get chromium, pip install -r bi/requirements.txt).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support import REPO
from tests.support.e2e import query

pytestmark = pytest.mark.e2e

ARTIFACTS = REPO / "test-artifacts" / "bi"
CHROMIUM = os.environ.get("CEM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
PAGES = {"overview": "", "pain_points": "Pain_points", "store_scorecard": "Store_scorecard",
         "closed_loop_alerts": "Closed_loop_alerts", "key_drivers": "Key_drivers", "metric_alerts": "Metric_alerts"}
TITLES = {"pain_points": "Pain points", "store_scorecard": "Store scorecard",
          "closed_loop_alerts": "Closed-loop alerts", "key_drivers": "Key drivers", "metric_alerts": "Metric alerts"}


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
    command = [str(streamlit) if streamlit.exists() else "streamlit", "run", "Overview.py",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    log = open(bi_run.parent / "streamlit.log", "w")
    proc = subprocess.Popen(command, cwd=REPO / "bi", stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "CEM_BI_FILE": str(bi_run)})
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


def test_overview_shows_the_marts_nps_per_channel(bi_run, dashboards, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = _open(browser, dashboards, "Customer experience — executive overview")
    try:
        page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
        assert not _exceptions(page), _exceptions(page)
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


@pytest.mark.parametrize("name", [n for n in PAGES if n != "overview"])
def test_every_dashboard_renders_without_errors(bi_run, dashboards, browser, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = _open(browser, f"{dashboards}/{PAGES[name]}", TITLES[name])
    try:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        assert not _exceptions(page), _exceptions(page)
        body = page.inner_text("body")
        assert "Traceback" not in body
        # Either the mart's content or a clear "not built yet" message.
        assert "not built yet" in body or page.locator('[data-testid="stDataFrame"], [data-testid="stVegaLiteChart"], '
                                                       '[data-testid="stAlert"]').count() > 0
    finally:
        page.close()


CHARTS = '[data-testid="stVegaLiteChart"]'
TABLES = '[data-testid="stDataFrame"]'


def test_key_drivers_page_shows_the_mart(bi_run, dashboards, browser):
    # The daily job builds the key drivers; at the e2e size (300 customers) the table may well be empty (too
    # few NPS answers or mentions per segment): then the page must say why instead of drawing nothing.
    assert _published(bi_run, "analytics.mart_key_drivers"), "the daily run published no analytics.mart_key_drivers"
    drivers = query(bi_run, """
        select segment_kind, segment_value, driver, responses, fix_first_rank from analytics.mart_key_drivers
        where as_of_day = (select max(as_of_day) from analytics.mart_key_drivers)""")
    page = _open(browser, f"{dashboards}/{PAGES['key_drivers']}", "Key drivers")
    try:
        assert not _exceptions(page), _exceptions(page)
        body = page.inner_text("body")
        if drivers.empty:
            assert "No key drivers yet" in body, body
            assert page.locator(CHARTS).count() == 0
            return
        # The page opens on the overall segment, which has rows whenever any segment has (it holds every answer).
        segment = drivers[drivers.segment_kind == "overall"]
        assert not segment.empty, drivers
        page.locator(CHARTS).first.wait_for()
        assert page.locator(CHARTS).count() >= 1 and page.locator(TABLES).count() >= 1
        tiles = _tiles(page)
        assert tiles["NPS answers"] == f"{int(segment.responses.iloc[0]):,}", tiles
        assert tiles["drivers analysed"] == f"{len(segment):,}", tiles
        ranked = segment.dropna(subset=["fix_first_rank"]).sort_values("fix_first_rank")
        assert tiles["drivers that lower it"] == f"{len(ranked):,}", tiles
        if ranked.empty:
            assert "No driver clearly lowers the score" in body
        else:
            assert f"Fix first: {ranked.driver.iloc[0]}" in body, body
        assert "bootstrap 95% intervals" in body
    finally:
        page.close()


def test_metric_alerts_page_shows_the_mart(bi_run, dashboards, browser):
    for table in ("analytics.mart_metric_alerts", "analytics.metric_tests"):
        assert _published(bi_run, table), f"the daily run published no {table}"
    alerts = query(bi_run, "select metric from analytics.mart_metric_alerts")
    tests = query(bi_run, "select count(*) as n from analytics.metric_tests").n.iloc[0]
    page = _open(browser, f"{dashboards}/{PAGES['metric_alerts']}", "Metric alerts")
    try:
        assert not _exceptions(page), _exceptions(page)
        tiles = _tiles(page)
        assert tiles["alerts"] == f"{len(alerts):,}", tiles
        assert tiles["NPS alerts"] == f"{(alerts.metric == 'nps').sum():,}", tiles
        assert tiles["segments tested"] == f"{int(tests):,}", tiles
        body = page.inner_text("body")
        assert f"All tests of the run ({int(tests):,})" in body, body
        if alerts.empty:
            assert "No significant drops" in body, body
        else:
            assert "No significant drops" not in body
            assert f"Significant drops — newest first ({len(alerts):,} of {len(alerts):,})" in body, body
            assert page.locator(TABLES).count() >= 1
    finally:
        page.close()
