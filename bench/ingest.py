"""Ingestion benchmark: records/s end to end over HTTP, and peak memory, as the source grows.

    .venv/bin/python bench/ingest.py [--customers 20000 200000] [--page-size 2000]

For each size the simulator runs in its own process (the ``cem-simulator`` CLI, so server and client
do not share one GIL); ``ingest_all`` lands every entity into a fresh DuckDB file in a fresh worker
process, so each size's peak RSS (``ru_maxrss``) is that load's own and not a high-water mark left
by the previous size. Printed per size: records, seconds, records/s, peak RSS of the ingesting
process (and its RSS before the load), world-generation time and simulator start-up time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.simulator_process import simulator_process  # noqa: E402
TARGET_RPS = 20_000


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def worker(url: str, warehouse: str, page_size: int) -> None:
    """Runs in a child process: land everything, print one JSON line."""
    from cem_pipeline.config import load_settings
    from cem_pipeline.ingest import ingest_all

    settings = load_settings({"CEM_ENV": "test", "CEM_SOURCE_BASE_URL": url, "CEM_SOURCE_API_KEY": "demo-key",
                              "CEM_WAREHOUSE_PATH": warehouse, "CEM_PAGE_SIZE": str(page_size),
                              "CEM_HTTP_READ_TIMEOUT": "120"})
    before = rss_mb()
    started = time.perf_counter()
    results = ingest_all(settings)
    seconds = time.perf_counter() - started
    print(json.dumps({
        "records": sum(r.records_served for r in results),
        "rows_written": sum(r.rows_written for r in results),
        "seconds": seconds,
        "rss_before_mb": before,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "entities": {r.entity: [r.records_served, r.duration_s] for r in results},
    }), flush=True)


def generation_seconds(customers: int, seed: int) -> float:
    """World generation alone (corpus already loaded), timed in a throwaway process."""
    code = ("import time, sys\nfrom cem_pipeline.simulator.corpus import Corpus\n"
            "from cem_pipeline.simulator.world import World\nc = Corpus()\nt = time.perf_counter()\n"
            f"World(seed={seed}, customers={customers}, corpus=c)\nprint(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def run_size(customers: int, seed: int, page_size: int) -> dict:
    with simulator_process(customers, seed) as (url, startup):
        with tempfile.TemporaryDirectory(prefix="cem-bench-") as tmp:
            out = subprocess.run([sys.executable, __file__, "--worker", url, str(Path(tmp) / "bench.duckdb"),
                                  str(page_size)], capture_output=True, text=True, cwd=ROOT)
            if out.returncode:
                raise RuntimeError(out.stderr[-3000:])
            result = json.loads(out.stdout.strip().splitlines()[-1])
            result["db_mb"] = (Path(tmp) / "bench.duckdb").stat().st_size / 2**20
    result.update(customers=customers, startup_s=startup, generation_s=generation_seconds(customers, seed),
                  page_size=page_size)
    result["records_per_s"] = result["records"] / result["seconds"]
    return result


def main(argv=None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--page-size", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    print(f"ingestion benchmark: {os.cpu_count()} CPUs, page size {args.page_size}, seed {args.seed}")
    header = (f"{'customers':>10} {'records':>10} {'seconds':>8} {'records/s':>10} {'peak RSS MB':>12} "
              f"{'RSS before':>10} {'DB MB':>7} {'gen s':>6} {'sim up s':>8}")
    print(header)
    rows = []
    for n in args.customers:
        r = run_size(n, args.seed, args.page_size)
        assert r["rows_written"] == r["records"], "a fresh warehouse must land every served record"
        rows.append(r)
        print(f"{n:>10,} {r['records']:>10,} {r['seconds']:>8.1f} {r['records_per_s']:>10,.0f} "
              f"{r['peak_rss_mb']:>12.0f} {r['rss_before_mb']:>10.0f} {r['db_mb']:>7.0f} "
              f"{r['generation_s']:>6.1f} {r['startup_s']:>8.1f}", flush=True)
        slowest = max(r["entities"].items(), key=lambda kv: kv[1][1])
        print(f"{'':>10} slowest entity: {slowest[0]} ({slowest[1][0]:,} records in {slowest[1][1]:.1f} s)")
    misses = [r for r in rows if r["records_per_s"] < TARGET_RPS]
    print(f"target {TARGET_RPS:,} records/s: " + ("met at every size" if not misses else
          "MISSED at " + ", ".join(f"{r['customers']:,} customers ({r['records_per_s']:,.0f}/s)" for r in misses)))
    if len(rows) > 1:
        growth = rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
        volume = rows[-1]["records"] / rows[0]["records"]
        print(f"peak RSS grew x{growth:.2f} while volume grew x{volume:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
