"""Screenshots of every dashboard page in each language into a folder (docs/ by default), against a BI file.

    .venv/bin/python bi/screenshots.py --bi-file /tmp/demo/data/bi/cem_bi.duckdb --out docs [--lang en zh]

Chinese pages need a CJK font in the machine's fontconfig (Debian: apt-get install fonts-wqy-microhei), else
Chromium draws boxes.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BI = Path(__file__).resolve().parent
PAGES = {"overview": "", "pain-points": "Pain_points", "store-scorecard": "Store_scorecard",
         "closed-loop-alerts": "Closed_loop_alerts", "key-drivers": "Key_drivers", "metric-alerts": "Metric_alerts",
         "outcomes": "Outcomes"}
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bi-file", required=True)
    parser.add_argument("--out", default=str(BI.parent / "docs"))
    parser.add_argument("--chromium", default=os.environ.get("CEM_CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument("--lang", nargs="+", default=["en", "zh"], choices=["en", "zh"])
    parser.add_argument("--pages", nargs="+", default=list(PAGES), choices=list(PAGES))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    streamlit = Path(sys.executable).with_name("streamlit")
    proc = subprocess.Popen([str(streamlit), "run", "app.py", "--server.port", str(port), "--server.address",
                             "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
                            cwd=BI, env={**os.environ, "CEM_BI_FILE": str(Path(args.bi_file).resolve())},
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=ARGS)
            for name, lang in ((n, lang) for n in args.pages for lang in args.lang):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"{url}/{PAGES[name]}?lang={lang}")
                page.locator("h1").first.wait_for(timeout=60_000)
                page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
                page.wait_for_timeout(2000)
                shot = out / (f"bi-{name}.png" if lang == "en" else f"bi-{name}-{lang}.png")
                page.screenshot(path=str(shot), full_page=True)
                print(shot)
                page.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
