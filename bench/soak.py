"""Fault-soak benchmark: a flaky source through N hourly runs and one daily run, at scale.

    .venv/bin/python bench/soak.py [--customers 200000] [--hours 24]

The simulator runs in its own process with 10% 5xx, 2% 429 (Retry-After 1 s), 1% responses slower
than the client's read timeout, 2% truncated bodies and 2% duplicated pages. Each hour: the clock moves
one hour on and the hourly job's ingest and gate steps run (the part that meets the source); at the
end faults stop and the daily job rebuilds everything. Printed: per-hour wall time, requests, retries
implied, records served/landed/duplicates, and the final reconciliation against the simulator's truth
(records visible at the source = staged + quarantined, no version twice in raw, NPS = truth).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.simulator_process import simulator_process  # noqa: E402

FAULTS = {"error_rate": 0.10, "rate_limit_rate": 0.02, "timeout_rate": 0.01, "truncate_rate": 0.02,
          "duplicate_page_rate": 0.02, "retry_after_s": 1, "slow_s": 6, "seed": 5}
KEY = {"X-API-Key": "demo-key"}


def worker(url: str, workdir: str, hours: int, customers: int) -> None:
    import dagster as dg
    import duckdb

    os.environ.update({
        "CEM_ENV": "test", "CEM_SOURCE_BASE_URL": url, "CEM_SOURCE_API_KEY": "demo-key",
        "CEM_DATA_DIR": workdir, "CEM_WAREHOUSE_PATH": f"{workdir}/cem.duckdb",
        "CEM_PII_KEY": "bench-key-0123456789abcdef0123456789abcdef", "CEM_HTTP_READ_TIMEOUT": "5",
        "CEM_HTTP_MAX_RETRIES": "8", "CEM_PAGE_SIZE": "2000",
    })
    from definitions import defs
    from tests.ml_support import tiny_sentiment_model  # a tiny model: this benchmark is about faults, not NLP

    os.environ["CEM_SENTIMENT_MODEL"] = str(tiny_sentiment_model(Path(workdir) / "tiny-model"))
    ingest = dg.define_asset_job("soak_ingest", selection=dg.AssetSelection.groups("raw", "privacy"))
    soak_defs = dg.Definitions(assets=defs.assets, resources=defs.resources, jobs=[ingest],
                               executor=dg.in_process_executor)
    quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    rows = []
    with dg.DagsterInstance.ephemeral() as instance:
        requests.post(f"{url}/admin/faults", json=FAULTS, headers=KEY, timeout=30).raise_for_status()
        for hour in range(hours + 1):
            started = time.perf_counter()
            result = soak_defs.resolve_job_def("soak_ingest").execute_in_process(
                instance=instance, raise_on_error=False, run_config=quiet)
            rows.append({"hour": hour, "ok": result.success, "seconds": round(time.perf_counter() - started, 1)})
            requests.post(f"{url}/admin/advance", params={"hours": 1}, headers=KEY, timeout=30)
        requests.post(f"{url}/admin/faults", json={}, headers=KEY, timeout=30)
        started = time.perf_counter()
        daily = defs.resolve_job_def("daily_cx_rebuild").execute_in_process(instance=instance, raise_on_error=False,
                                                                            run_config=quiet)
        daily_s = round(time.perf_counter() - started, 1)
    stats = requests.get(f"{url}/admin/stats", headers=KEY, timeout=30).json()
    from cem_pipeline.simulator.world import World
    from tests.e2e_support import STAGING_OF

    world = World(seed=7, customers=customers)  # the simulator's world, rebuilt from its seed: the truth
    now = stats["now_ts"]
    truth = world.truth_metrics(now)
    truth_nps = truth[truth.survey_type == "nps"]
    with duckdb.connect(f"{workdir}/cem.duckdb", read_only=True) as con:
        ledger = con.execute("select sum(records_served), sum(rows_written), sum(duplicates_skipped) "
                             "from raw.load_ledger where status = 'committed'").fetchone()
        staged = {}
        for entity, (model, key) in STAGING_OF.items():
            visible = len(world.tables[entity].visible_current(now)[0])
            n_staged = con.execute(f"select count(distinct {key}) from staging.{model}").fetchone()[0]
            quarantined = con.execute("select count(distinct record_id) from quarantine.quarantined_records "
                                      "where entity = ?", [entity]).fetchone()[0]
            twice = con.execute(f"select count(*) - count(distinct (record_id, _record_hash)) from raw.{entity}"
                                ).fetchone()[0]
            staged[entity] = {"visible": visible, "staged": n_staged, "quarantined": quarantined,
                              "versions_twice_in_raw": twice}
        mart = con.execute("select sum(n), sum(promoters), sum(detractors) from marts.mart_nps_daily").fetchone()
    staged["nps_mart_vs_truth"] = {"mart": list(map(int, mart)),
                                   "truth": [int(truth_nps.n.sum()), int(truth_nps.promoters.sum()),
                                             int(truth_nps.detractors.sum())]}
    print(json.dumps({"hours": rows, "daily_s": daily_s, "daily_ok": daily.success, "stats": stats,
                      "ledger": {"served": ledger[0], "written": ledger[1], "duplicates": ledger[2]},
                      "staged": staged}))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--hours", type=int, default=24)
    args = parser.parse_args()
    with simulator_process(args.customers) as (url, _), tempfile.TemporaryDirectory() as workdir:
        done = subprocess.run([sys.executable, __file__, "--worker", url, workdir, str(args.hours),
                               str(args.customers)], capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            raise SystemExit(done.stderr[-4000:])
        figures = json.loads(done.stdout.strip().splitlines()[-1])
    hours = figures["hours"]
    print(f"fault soak, {args.customers:,} customers, faults {FAULTS}")
    print(f"  initial load (hour 0): {hours[0]['seconds']} s; hourly runs 1..{args.hours}: "
          f"median {sorted(h['seconds'] for h in hours[1:])[len(hours[1:]) // 2]} s, "
          f"max {max(h['seconds'] for h in hours[1:])} s; all succeeded: {all(h['ok'] for h in hours)}")
    print(f"  daily rebuild: {figures['daily_s']} s, succeeded: {figures['daily_ok']}")
    print(f"  requests: {sum(figures['stats']['requests'].values()):,}; records served by the source "
          f"{sum(figures['stats']['served'].values()):,}; ledger served {figures['ledger']['served']:,}, "
          f"landed {figures['ledger']['written']:,}, duplicates skipped {figures['ledger']['duplicates']:,}")
    for entity, f in figures["staged"].items():
        print(f"  {entity}: {f}")


if __name__ == "__main__":
    main()
