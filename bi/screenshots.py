"""Screenshots of every dashboard page into a folder (docs/ by default), against a BI file.

    .venv/bin/python bi/screenshots.py --bi-file /tmp/demo/data/bi/cem_bi.duckdb --out docs
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
         "closed-loop-alerts": "Closed_loop_alerts", "key-drivers": "Key_drivers", "metric-alerts": "Metric_alerts"}
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bi-file", required=True)
    parser.add_argument("--out", default=str(BI.parent / "docs"))
    parser.add_argument("--chromium", default=os.environ.get("CEM_CHROMIUM", "/usr/bin/chromium"))
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
            for name, path in PAGES.items():
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"{url}/{path}")
                page.locator("h1").first.wait_for(timeout=60_000)
                page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
                page.wait_for_timeout(2000)
                page.screenshot(path=str(out / f"bi-{name}.png"), full_page=True)
                print(out / f"bi-{name}.png")
                page.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
